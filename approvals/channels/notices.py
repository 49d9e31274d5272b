"""The platform-neutral requester notice: built from a request as it stands now. Pure.

Kept apart from the card on purpose: a card is for reviewers and shows the redacted context;
a notice goes to a person's inbox and carries only action, environment, resource, verdict,
who decided, the reason and a link.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from approvals.actions.schemas import ActionRead
from approvals.channels.base import Notice
from approvals.kit.identity import identity_key

# Each platform renders untrusted text (`quote`: escape and cut) and times (`when`) its own
# way; the words are the same everywhere.
Quote = Callable[[str], str]
When = Callable[[datetime], str]


def build_notice(action: ActionRead, event: str, public_url: str) -> Notice:
    if event == "approved":
        approvers = [v for v in action.votes if v.verdict == "approve"]
        decided_by = ", ".join(v.approver for v in approvers) or action.decided_by
        reason = next((v.reason for v in reversed(approvers) if v.reason), None)
    elif event == "denied":
        decided_by, reason = action.decided_by, action.decision_reason
    else:
        decided_by, reason = None, None
    return Notice(
        action_id=action.id,
        event=event,
        action=action.action,
        environment=action.environment,
        resource=action.resource,
        requester=action.requester,
        on_behalf_of=action.on_behalf_of,
        approver_groups=tuple(action.approver_groups),
        decided_by=decided_by,
        reason=reason,
        at=action.expires_at if event == "posted" else action.decided_at,
        url=f"{public_url.rstrip('/')}/ui/actions/{action.id}",
    )


def subject(notice: Notice, recipient: str, quote: Quote) -> str:
    """Whose request this is, from the reader's side."""
    if identity_key(recipient) == identity_key(notice.requester):
        return "Your request"
    return f"A request on your behalf by {quote(notice.requester)}"


def outcome(notice: Notice, quote: Quote, when: When) -> str:
    """What happened to it, who decided, and what the reader may do now."""
    groups = ", ".join(notice.approver_groups) or "the approvers"
    by = f" by {quote(notice.decided_by)}" if notice.decided_by else ""
    if notice.event == "posted":
        until = f" until {when(notice.at)}" if notice.at else ""
        return f"is waiting for review by {quote(groups)}{until}."
    if notice.event == "approved":
        return f"was approved{by}. The automation can run it once it is released."
    if notice.event == "denied":
        return f"was denied{by}. Nothing will run."
    if notice.event == "expired":
        return "expired: nobody decided in time. Nothing was approved; submit it again if needed."
    if notice.event == "released":
        return "is released: the automation may now run it, once."
    return f"changed: {quote(notice.event)}."
