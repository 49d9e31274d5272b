"""Read-only views the reviewer page needs beyond the actions API: "pending for me" and
history filtered by status and action. Never writes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from approvals.actions import repository
from approvals.actions.models import ActionRequest
from approvals.actions.ports import ActionsDeps
from approvals.actions.reading import to_read
from approvals.actions.schemas import ActionRead
from approvals.actions.states import Status

HISTORY_PAGE = 50


@dataclass(frozen=True, slots=True)
class History:
    items: list[ActionRead]
    next_cursor: str | None


async def history(
    runtime: ActionsDeps, *, status: Status | None, action: str | None, before_id: str | None
) -> History:
    """Newest first, keyset on the time-ordered id. `action` ending in `*` is a prefix."""
    query = select(ActionRequest).order_by(ActionRequest.id.desc()).limit(HISTORY_PAGE + 1)
    if status is not None:
        # "denied" finds denied requests whether or not their rejection was delivered yet.
        query = query.where(
            (ActionRequest.status == status.value) | (ActionRequest.verdict == status.value)
        )
    if action:
        if action.endswith("*"):
            query = query.where(ActionRequest.action.startswith(action[:-1], autoescape=True))
        else:
            query = query.where(ActionRequest.action == action)
    if before_id:
        query = query.where(ActionRequest.id < before_id)
    async with runtime.db() as session:
        rows = list((await session.execute(query)).scalars())
        more = len(rows) > HISTORY_PAGE
        rows = rows[:HISTORY_PAGE]
        votes = await repository.votes_for(session, [row.id for row in rows])
    return History(
        items=[to_read(row, votes[row.id]) for row in rows],
        next_cursor=rows[-1].id if more else None,
    )
