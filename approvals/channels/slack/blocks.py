"""Block Kit rendering of the platform-neutral card, and the deny-reason modal. Pure. No I/O.

Every card field is untrusted (already redacted, still written by a requester): it reaches
Slack escaped for mrkdwn (`&`, `<`, `>`) in `verbatim` text, or as literal rich-text/plain
text, so it can never mention `@channel`/`@here`/users, forge a link or break the layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from approvals.channels.cards import Card, VoteLine

Block = dict[str, Any]

APPROVE_ACTION_ID = "approvals.approve"
DENY_ACTION_ID = "approvals.deny"
DENY_CALLBACK_ID = "approvals.deny_reason"
REASON_BLOCK_ID = "approvals.reason"
REASON_ACTION_ID = "reason"

# Block Kit limits (api.slack.com/reference/block-kit): exceeding any one of them makes
# chat.postMessage answer `invalid_blocks` and the reviewer sees nothing at all.
MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_FIELD = 2000
MAX_HEADER = 150
MAX_VOTES_SHOWN = 10
REASON_MAX_LENGTH = 2000

_RISK_EMOJI = {
    "low": ":large_green_circle:",
    "medium": ":large_yellow_circle:",
    "high": ":large_orange_circle:",
    "critical": ":red_circle:",
}
_STATUS_LABEL = {
    "pending": "Approval needed",
    "approved": "Approved",
    "auto_approved": "Auto-approved",
    "denied": "Denied",
    "expired": "Expired",
    "cancelled": "Cancelled",
    "blocked": "Blocked by policy",
    "released": "Released",
    "rejected": "Rejected",
    "executed": "Executed",
}
_VERDICT_EMOJI = {"approve": ":white_check_mark:", "deny": ":no_entry:"}


def escape_mrkdwn(text: str) -> str:
    """Slack's own rule: only these three characters are control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit_escaped(raw: str, limit: int) -> str:
    """Escape, then truncate without leaving half an entity (`&am…`) behind."""
    escaped = escape_mrkdwn(raw)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _lines(lines: list[str], limit: int = MAX_TEXT) -> str:
    """Whole lines only: cutting inside `<!date^…>` or `&amp;` would garble the rest."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit - 2:
            kept.append("…")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim stops Slack from auto-linking bare URLs, #channels and @names in our output.
    return {"type": "mrkdwn", "text": _cut(text, MAX_TEXT), "verbatim": True}


def _plain(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": True}


def _when(moment: datetime) -> str:
    """Each reader sees their own time zone; the fallback (old clients) is UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    utc = aware.astimezone(UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _safe_url(url: str) -> str | None:
    if not url.startswith(("https://", "http://")):
        return None
    for char, code in (("<", "%3C"), (">", "%3E"), ("|", "%7C"), (" ", "%20")):
        url = url.replace(char, code)
    return url.replace("&", "&amp;")


render_when = _when  # public names for the requester notice renderer (slack/notices.py)
safe_url = _safe_url


def _status_label(status: str) -> str:
    return _STATUS_LABEL.get(status, status.replace("_", " ").capitalize())


def _header(card: Card) -> Block:
    text = f"{_status_label(card.status)}: {card.action} · {card.environment}"
    return {"type": "header", "text": _plain(text, MAX_HEADER)}


def _field(label: str, raw: str, prefix: str = "") -> dict[str, Any]:
    body = _fit_escaped(raw, MAX_FIELD - len(label) - len(prefix) - 4)
    return {"type": "mrkdwn", "text": f"*{label}*\n{prefix}{body}", "verbatim": True}


def _facts(card: Card) -> Block:
    fields = [_field("Requester", card.requester)]
    if card.on_behalf_of:
        fields.append(_field("On behalf of", card.on_behalf_of))
    fields.append(_field("Resource", card.resource))
    risk_emoji = _RISK_EMOJI.get(card.risk, ":grey_question:")
    fields.append(_field("Risk", card.risk.upper(), prefix=f"{risk_emoji} "))
    return {"type": "section", "block_id": "approvals.facts", "fields": fields}


def _guardrails(card: Card) -> Block | None:
    if not card.guardrails:
        return None
    lines = [
        f"• *{escape_mrkdwn(g.severity)}* {escape_mrkdwn(g.code)}: {_fit_escaped(g.message, 500)}"
        for g in card.guardrails
    ]
    return {"type": "section", "text": _mrkdwn(_lines(["*Why this risk*", *lines]))}


def _literal(label: str, raw: str, *, preformatted: bool) -> Block:
    """Rich text elements are literal: no mrkdwn, links or mentions are parsed in them."""
    body = _cut(raw, MAX_TEXT)
    title = {
        "type": "rich_text_section",
        "elements": [{"type": "text", "text": label, "style": {"bold": True}}],
    }
    content: dict[str, Any] = {
        "type": "rich_text_preformatted" if preformatted else "rich_text_section",
        "elements": [{"type": "text", "text": body}],
    }
    return {"type": "rich_text", "elements": [title, content]}


def _context_link(card: Card) -> Block | None:
    url = _safe_url(card.full_view_url)
    if url is None:
        return None
    note = "Preview truncated. " if len(card.context_preview) > MAX_TEXT else ""
    text = f"{note}<{url}|Open the full redacted view>"
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _controls(card: Card) -> Block:
    if card.redaction_summary:
        found = ", ".join(f"{count} × {kind}" for kind, count in card.redaction_summary)
        masked = f"Redacted before display: {found}"
    else:
        masked = "Redacted before display: nothing found"
    policy = f"Policy rule {card.policy_rule} (version {card.policy_version})"
    text = "*Controls applied*\n" + _fit_escaped(f"{masked}\n{policy}", MAX_TEXT - 20)
    return {"type": "section", "text": _mrkdwn(text)}


def _vote_line(vote: VoteLine) -> str:
    emoji = _VERDICT_EMOJI.get(vote.verdict, "•")
    line = (
        f"{emoji} {escape_mrkdwn(vote.approver)} — {escape_mrkdwn(vote.verdict)}, {_when(vote.at)}"
    )
    if vote.reason:
        line += f": “{_fit_escaped(vote.reason, 500)}”"
    return line


def _progress(card: Card) -> Block:
    lines = [f"*Approvals:* {escape_mrkdwn(card.progress)}"]
    shown = card.votes[-MAX_VOTES_SHOWN:]
    if len(card.votes) > len(shown):
        lines.append(f"…and {len(card.votes) - len(shown)} earlier votes")
    lines.extend(_vote_line(v) for v in shown)
    if card.step_up_note:
        lines.append(f":lock: {escape_mrkdwn(card.step_up_note)}")
    return {"type": "section", "block_id": "approvals.progress", "text": _mrkdwn(_lines(lines))}


def _outcome(card: Card) -> Block:
    """Who decided, when and why: what a reviewer scrolling back needs on a closed card."""
    verdict = {"approved": "approve", "denied": "deny"}.get(card.status)
    deciders = [v for v in card.votes if verdict is not None and v.verdict == verdict]
    text = f"*{_status_label(card.status)}*"
    if card.decided_at is not None:
        text += f" {_when(card.decided_at)}"
    if deciders:
        text += " by " + ", ".join(escape_mrkdwn(v.approver) for v in deciders)
    reason = card.decision_reason or next((v.reason for v in reversed(deciders) if v.reason), None)
    if reason:
        text += f"\nReason: “{_fit_escaped(reason, 1500)}”"
    return {"type": "section", "block_id": "approvals.outcome", "text": _mrkdwn(text)}


def _buttons(card: Card) -> Block:
    approve: dict[str, Any] = {
        "type": "button",
        "action_id": APPROVE_ACTION_ID,
        "text": _plain("Approve", 75),
        "style": "primary",
        "value": card.action_id,
    }
    if card.risk in ("high", "critical"):
        # A second look before a high-risk approval costs one click and saves a misclick.
        approve["confirm"] = {
            "title": _plain("Approve high-risk request?", 100),
            "text": _plain(f"{card.action} on {card.resource} ({card.environment})", 300),
            "confirm": _plain("Approve", 30),
            "deny": _plain("Back", 30),
        }
    deny = {
        "type": "button",
        "action_id": DENY_ACTION_ID,
        "text": _plain("Deny", 75),
        "style": "danger",
        "value": card.action_id,
    }
    return {"type": "actions", "block_id": "approvals.decision", "elements": [approve, deny]}


def render_blocks(card: Card, *, voter: bool = True) -> list[Block]:
    """The whole card; buttons only while a decision is still possible, and only for a
    viewer who may vote (`voter`; a channel copy is for the approvers in the channel)."""
    blocks: list[Block | None] = [_header(card), _facts(card), _guardrails(card)]
    if card.justification:
        blocks.append(_literal("Justification", card.justification, preformatted=False))
    if card.context_preview:
        blocks.append(_literal("Context (redacted)", card.context_preview, preformatted=True))
    blocks += [_context_link(card), _controls(card), _progress(card)]
    if card.is_final:
        blocks.append(_outcome(card))
    else:
        expiry = _mrkdwn(
            f"Expires {_when(card.expires_at)} · request {escape_mrkdwn(card.action_id)}"
        )
        blocks += [{"type": "context", "elements": [expiry]}]
        blocks.append(_buttons(card) if voter else _follow_only())
    return [b for b in blocks if b is not None][:MAX_BLOCKS]


def _follow_only() -> Block:
    return {
        "type": "context",
        "elements": [_mrkdwn("You can follow this request; you cannot vote on it.")],
    }


def summary_blocks(card: Card) -> list[Block]:
    """One request in a list (App Home, `/approvals pending`): what, where, who, risk,
    progress and expiry in one section with a link to the full card, then its buttons."""
    risk_emoji = _RISK_EMOJI.get(card.risk, ":grey_question:")
    title = f"*{_fit_escaped(card.action, 200)}* on {_fit_escaped(card.resource, 300)}"
    lines = [
        f"{title} · {_fit_escaped(card.environment, 100)}",
        f"{risk_emoji} {escape_mrkdwn(card.risk.upper())} · requested by "
        f"{_fit_escaped(card.requester, 320)}"
        + (f" for {_fit_escaped(card.on_behalf_of, 320)}" if card.on_behalf_of else ""),
        f"{escape_mrkdwn(card.progress)} · expires {_when(card.expires_at)}",
    ]
    url = _safe_url(card.full_view_url)
    if url is not None:
        lines.append(f"<{url}|Open request {escape_mrkdwn(card.action_id)}>")
    section = {"type": "section", "text": _mrkdwn(_lines(lines))}
    if card.is_final:
        return [section]
    return [section, {**_buttons(card), "block_id": f"approvals.decision.{card.action_id}"}]


# mrkdwn has no escape for its style markers; these look-alikes are never parsed as markup.
_INERT_MARKERS = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})


def fallback_text(card: Card) -> str:
    """Notification and screen-reader text. Top-level `text` is parsed as mrkdwn, so request
    text is escaped and its style markers made inert: `*x*` in a resource is not bold."""
    raw = (
        f"{_status_label(card.status)}: {card.action} on {card.resource} ({card.environment}), "
        f"requested by {card.requester}, risk {card.risk}"
    )
    return _fit_escaped(raw.translate(_INERT_MARKERS), MAX_TEXT)


@dataclass(frozen=True, slots=True)
class DenyContext:
    """What the modal carries back: the request, and the message the Deny click came from."""

    action_id: str
    channel_id: str | None = None
    message_ts: str | None = None
    from_home: bool = False


def deny_modal(
    action_id: str,
    *,
    channel_id: str | None = None,
    message_ts: str | None = None,
    from_home: bool = False,
) -> dict[str, Any]:
    """`views.open` payload asking for a required reason.

    private_metadata is JSON (`DenyContext`), not the bare action id: the submission must know
    which message to update and where to answer a refusal. Slack stores it server-side and
    returns it in the signed view_submission, so a reviewer cannot alter it.
    """
    metadata: dict[str, Any] = {
        "action_id": action_id,
        "channel_id": channel_id,
        "message_ts": message_ts,
    }
    if from_home:
        metadata["from_home"] = True
    return {
        "type": "modal",
        "callback_id": DENY_CALLBACK_ID,
        "private_metadata": json.dumps(metadata, separators=(",", ":")),
        "title": _plain("Deny request", 24),
        "submit": _plain("Deny", 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            {"type": "context", "elements": [_plain(f"Request {action_id}", 150)]},
            {
                "type": "input",
                "block_id": REASON_BLOCK_ID,
                "optional": False,
                "label": _plain("Why are you denying this request?", 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_ACTION_ID,
                    "multiline": True,
                    "min_length": 3,
                    "max_length": REASON_MAX_LENGTH,
                    "placeholder": _plain("The requester sees this reason.", 150),
                },
            },
        ],
    }


def parse_deny_metadata(private_metadata: str) -> DenyContext | None:
    try:
        data = json.loads(private_metadata)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("action_id"), str):
        return None
    channel, ts = data.get("channel_id"), data.get("message_ts")
    return DenyContext(
        action_id=data["action_id"],
        channel_id=channel if isinstance(channel, str) else None,
        message_ts=ts if isinstance(ts, str) else None,
        from_home=data.get("from_home") is True,
    )
