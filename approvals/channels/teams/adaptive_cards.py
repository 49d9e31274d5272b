"""Renders the platform-neutral `Card` as an Adaptive Card 1.5 for Teams. Pure.

Owns the Teams look of a request and the rule that keeps request text inert: every untrusted
string (requester, resource, justification, context, guardrail messages, votes...) is placed
only in a `RichTextBlock` `TextRun`, which Adaptive Card hosts render as plain text (no
markdown, so no `[link](...)`, no `**bold**`), and Teams only turns `<at>` into a mention when
the activity carries a matching mention entity, which we never send. On top of that `neutralise`
drops control and bidi-override characters (layout spoofing) and breaks `{{` so the host's
DATE()/TIME() template functions never fire on request text.

The deny reason is required twice: client-side, the Deny button lives in an `Action.ShowCard`
whose `Input.Text` has `isRequired` (Teams blocks the invoke until it is filled), and
server-side, `inbound` refuses a deny without a reason because a crafted invoke skips the client.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from approvals.channels.base import Notice
from approvals.channels.cards import Card
from approvals.channels.notices import outcome, subject

Json = dict[str, Any]

SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
VERB_APPROVE = "approvals.approve"
VERB_DENY = "approvals.deny"
VERB_REFRESH = "approvals.refresh"
REF_KEY = "ref"  # the key under which each action's `data` carries the signed reference
COMMENT_INPUT = "comment"
DENY_REASON_INPUT = "deny_reason"

# Teams caps a card message at ~28 KB; these limits keep the worst case well under it.
MAX_FIELD = 300
MAX_JUSTIFICATION = 1000
MAX_PREVIEW = 1500
MAX_GUARDRAILS = 10
MAX_VOTES = 20
MAX_REASON = 500

_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str | None, limit: int = MAX_FIELD) -> str:
    """Plain, bounded text safe for a TextRun; truncation is marked with an ellipsis."""
    if not text:
        return ""
    cleaned = _INVISIBLE.sub("", text).replace("{{", "{\u200b{")
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def _run(text: str, **style: Any) -> Json:
    return {"type": "TextRun", "text": text, **style}


def _para(*runs: Json, **extra: Any) -> Json:
    return {"type": "RichTextBlock", "inlines": list(runs), **extra}


def _field(label: str, value: str | None, limit: int = MAX_FIELD) -> Json:
    return _para(_run(f"{label}: ", weight="Bolder"), _run(neutralise(value, limit) or "—"))


def _heading(text: str) -> Json:
    # Our own static words only: a TextBlock is fine here.
    return {
        "type": "TextBlock",
        "text": text,
        "weight": "Bolder",
        "spacing": "Medium",
        "wrap": True,
    }


def _when(at: datetime) -> str:
    # Teams formats DATE()/TIME() in the reader's locale and zone; the value is ours, not user
    # text. Naive datetimes are taken as UTC, the core's convention.
    utc = at if at.utcoffset() is None else at.astimezone(UTC)
    iso = utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{{{{DATE({iso}, SHORT)}}}} {{{{TIME({iso})}}}}"


def _safe_url(url: str) -> str | None:
    parts = urlsplit(url or "")
    return url if parts.scheme in ("https", "http") and parts.netloc else None


_STATUS_STYLE = {
    "approved": "good",
    "auto_approved": "good",
    "executed": "good",
    "released": "good",
    "denied": "attention",
    "rejected": "attention",
    "blocked": "attention",
    "expired": "warning",
    "cancelled": "warning",
}
_RISK_COLOR = {"high": "Attention", "critical": "Attention", "medium": "Warning"}


def _header(card: Card) -> Json:
    status = card.status.replace("_", " ")
    return {
        "type": "Container",
        "style": _STATUS_STYLE.get(card.status, "emphasis"),
        "bleed": True,
        "items": [
            _para(_run(neutralise(card.action, 120), size="Large", weight="Bolder")),
            _para(
                _run(f"Status: {status}", weight="Bolder"),
                _run(f"  ·  {neutralise(card.progress, 200)}"),
                spacing="None",
            ),
        ],
    }


def _details(card: Card) -> list[Json]:
    requester = card.requester
    if card.on_behalf_of:
        requester = f"{card.requester} (on behalf of {card.on_behalf_of})"
    body: list[Json] = [
        _field("Requested by", requester),
        _field("Resource", card.resource),
        _field("Environment", card.environment, 80),
        _para(
            _run("Risk: ", weight="Bolder"),
            _run(neutralise(card.risk, 40), color=_RISK_COLOR.get(card.risk.lower(), "Default")),
        ),
    ]
    for line in card.guardrails[:MAX_GUARDRAILS]:
        body.append(
            _para(
                _run(f"• {neutralise(line.severity, 20)} ", weight="Bolder"),
                _run(f"{neutralise(line.code, 60)}: {neutralise(line.message)}"),
                spacing="None",
            )
        )
    if len(card.guardrails) > MAX_GUARDRAILS:
        extra = len(card.guardrails) - MAX_GUARDRAILS
        body.append(_para(_run(f"… and {extra} more", isSubtle=True), spacing="None"))
    body.append(_heading("Justification"))
    body.append(
        _para(
            _run(neutralise(card.justification, MAX_JUSTIFICATION) or "(none given)"),
            spacing="Small",
        )
    )
    return body


def _context(card: Card) -> list[Json]:
    body: list[Json] = [
        _heading("Context (redacted)"),
        _para(
            _run(neutralise(card.context_preview, MAX_PREVIEW) or "(empty)", fontType="Monospace"),
            spacing="Small",
        ),
    ]
    url = _safe_url(card.full_view_url)
    if url:
        body.append(
            {
                "type": "ActionSet",
                "actions": [
                    {"type": "Action.OpenUrl", "title": "Open full redacted view", "url": url},
                ],
            }
        )
    redactions = (
        ", ".join(f"{neutralise(kind, 40)} × {count}" for kind, count in card.redaction_summary)
        or "nothing redacted"
    )
    body += [
        _heading("Controls applied"),
        _field("Redaction", redactions),
        _field("Policy", f"{card.policy_rule} (version {card.policy_version})"),
    ]
    if card.step_up_note:
        body.append(_field("Step-up", card.step_up_note))
    return body


def _votes(card: Card) -> list[Json]:
    if not card.votes:
        return [_heading("Votes"), _para(_run("No votes yet.", isSubtle=True), spacing="Small")]
    body = [_heading("Votes")]
    for vote in card.votes[-MAX_VOTES:]:
        verb = "approved" if vote.verdict == "approve" else "denied"
        runs = [
            _run(neutralise(vote.approver, 120), weight="Bolder"),
            _run(f" {verb} via {neutralise(vote.platform, 20)}, "),
            _run(_when(vote.at), isSubtle=True),
        ]
        if vote.reason:
            runs.append(_run(f" — {neutralise(vote.reason, MAX_REASON)}", italic=True))
        body.append(_para(*runs, spacing="Small"))
    return body


def _closing(card: Card, notice: str | None) -> list[Json]:
    body: list[Json] = []
    if card.is_final and card.decided_at is not None:
        runs = [_run("Decided ", weight="Bolder"), _run(_when(card.decided_at))]
        if card.decision_reason:
            runs.append(_run(f" — {neutralise(card.decision_reason, MAX_REASON)}"))
        body.append(_para(*runs, spacing="Medium"))
    elif not card.is_final:
        body.append(
            _para(_run("Expires ", weight="Bolder"), _run(_when(card.expires_at)), spacing="Medium")
        )
    if notice:
        body.append(
            {
                "type": "Container",
                "style": "warning",
                "spacing": "Medium",
                "items": [
                    _para(_run(neutralise(notice, MAX_REASON), weight="Bolder")),
                ],
            }
        )
    return body


def _actions(signed_data: str) -> tuple[list[Json], list[Json]]:
    data = {REF_KEY: signed_data}
    inputs: list[Json] = [
        {
            "type": "Input.Text",
            "id": COMMENT_INPUT,
            "label": "Comment (optional)",
            "isMultiline": True,
            "maxLength": MAX_REASON,
            "spacing": "Medium",
        }
    ]
    deny_card: Json = {
        "type": "AdaptiveCard",
        "body": [
            {
                "type": "Input.Text",
                "id": DENY_REASON_INPUT,
                "label": "Reason for denying",
                "isMultiline": True,
                "isRequired": True,
                "maxLength": MAX_REASON,
                "errorMessage": "A reason is required to deny.",
            }
        ],
        "actions": [
            {
                "type": "Action.Execute",
                "title": "Deny",
                "verb": VERB_DENY,
                "style": "destructive",
                "data": data,
            }
        ],
    }
    actions: list[Json] = [
        {
            "type": "Action.Execute",
            "title": "Approve",
            "verb": VERB_APPROVE,
            "style": "positive",
            "data": data,
        },
        {"type": "Action.ShowCard", "title": "Deny…", "card": deny_card},
    ]
    return inputs, actions


def render_card(
    card: Card,
    *,
    signed_data: str,
    show_actions: bool,
    refresh_user_ids: Sequence[str] = (),
    notice: str | None = None,
) -> Json:
    """The Adaptive Card for `card`.

    `show_actions` adds the comment box, Approve and Deny (never on a final card).
    `refresh_user_ids` (approvers' AAD object ids, at most 60 per Teams) makes Teams ask the bot
    for a personal view (`approvals.refresh`) for exactly those users, so they get the buttons
    while the shared copy stays read-only. `notice` is a one-line banner (why a click was refused).
    """
    body: list[Json] = [
        _header(card),
        *_details(card),
        *_context(card),
        *_votes(card),
        *_closing(card, notice),
    ]
    result: Json = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": CARD_VERSION,
        "fallbackText": "An approval request needs review; open it in the approvals web view.",
        "body": body,
    }
    if show_actions and not card.is_final:
        inputs, actions = _actions(signed_data)
        body.extend(inputs)
        result["actions"] = actions
    if refresh_user_ids and not card.is_final:
        result["refresh"] = {
            "action": {
                "type": "Action.Execute",
                "title": "Refresh",
                "verb": VERB_REFRESH,
                "data": {REF_KEY: signed_data},
            },
            "userIds": list(dict.fromkeys(refresh_user_ids))[:60],
        }
    return result


def render_notice_card(text: str) -> Json:
    """A one-line card for answers that cannot show the request (forged or foreign reference)."""
    return {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": CARD_VERSION,
        "body": [
            {
                "type": "Container",
                "style": "warning",
                "items": [
                    _para(_run(neutralise(text, MAX_REASON), weight="Bolder")),
                ],
            }
        ],
    }


def render_requester_notice(notice: Notice, recipient: str) -> Json:
    """The requester's (or on-behalf-of's) personal message: whose request, what happened, who
    decided and why, and a link. Every untrusted part is a literal TextRun."""

    def quote(text: str) -> str:
        return neutralise(text, MAX_FIELD)

    what = f"{quote(notice.action)} on {quote(notice.resource)} ({quote(notice.environment)})"
    body: list[Json] = [
        _para(
            _run(f"{subject(notice, recipient, quote)} "),
            _run(what, weight="Bolder"),
            _run(f" {outcome(notice, quote, _when)}"),
        )
    ]
    if notice.reason:
        body.append(_field("Reason", notice.reason, MAX_REASON))
    card: Json = {"type": "AdaptiveCard", "$schema": SCHEMA_URL, "version": CARD_VERSION}
    card["body"] = body
    url = _safe_url(notice.url)
    if url is not None:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the request", "url": url}]
    return card
