"""Which follow-up work a state change owes, written to the outbox in the same transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from approvals.actions import notices
from approvals.actions.states import Status
from approvals.outbox import service as outbox

# The changes a requester hears about directly. Cancelled is their own doing; blocked and
# auto-approved were answered synchronously at submit (released follows auto-approval).
_NOTIFIED = {
    Status.APPROVED: notices.APPROVED,
    Status.DENIED: notices.DENIED,
    Status.EXPIRED: notices.EXPIRED,
}


def schedule(session: AsyncSession, action_id: str, status: Status, step: str) -> None:
    """`step` names the change (created, a vote id, a final status) so dedupe keys stay unique.
    Where no chat platform is enabled (`notices.Reach`), no card job is written: the web page
    reads the database, and the job would have had nothing to post or update."""
    reach = notices.reach_of(session)
    cards = reach is None or reach.posts_cards()
    if status is Status.PENDING and step == "created":
        if cards:
            outbox.add(session, "cards.post", action_id, f"cards.post:{action_id}")
        notices.owe(session, action_id, notices.POSTED)
        return
    if step != "created" and cards:  # decided at intake (blocked, auto-approved): no card
        outbox.add(session, "cards.update", action_id, f"cards.update:{action_id}:{step}")
    if status is not Status.PENDING:
        outbox.add(session, "release", action_id, f"release:{action_id}")
    if status in _NOTIFIED:
        notices.owe(session, action_id, _NOTIFIED[status])
