"""The platform-neutral requester notice: built from a request as it stands now. Pure.

Kept apart from the card on purpose: a card is for reviewers and shows the redacted context;
a notice goes to a person's inbox and carries only action, environment, resource, verdict,
who decided, the reason and a link.
"""

from __future__ import annotations

from approvals.actions.schemas import ActionRead
from approvals.channels.base import Notice


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
