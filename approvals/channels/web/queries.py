"""Read-only views the reviewer page needs beyond the actions API: "pending for me" and
history filtered by status and action. Never writes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select

from approvals.actions import repository
from approvals.actions.models import ActionRequest
from approvals.actions.ports import ActionsDeps
from approvals.actions.reading import to_read
from approvals.actions.schemas import ActionRead
from approvals.actions.states import Status

HISTORY_PAGE = 50

# What the history shows for a request, and what its filter selects: one vocabulary, so the
# rows a filter lists carry that filter's label. A request shows its furthest fact: executed
# ones the outcome their requester reported; rejected ones (a refusal delivered) their verdict.
_REFUSALS = ("denied", "expired", "cancelled", "blocked")
_EXECUTIONS = ("succeeded", "failed")
LABELS = (
    "pending",
    "approved",
    "auto_approved",
    "released",
    "executed",
    *_EXECUTIONS,
    *_REFUSALS,
)


def label(action: ActionRead) -> str:
    if action.status is Status.EXECUTED:
        return f"executed: {action.execution or 'not reported'}"
    if action.status is Status.REJECTED and action.verdict:
        return action.verdict
    return action.status.value


def _shown_as(chosen: str) -> ColumnElement[bool]:
    if chosen in _EXECUTIONS:
        return and_(
            ActionRequest.status == Status.EXECUTED.value, ActionRequest.execution == chosen
        )
    if chosen in _REFUSALS:
        return or_(
            ActionRequest.status == chosen,
            and_(ActionRequest.status == Status.REJECTED.value, ActionRequest.verdict == chosen),
        )
    return ActionRequest.status == chosen


@dataclass(frozen=True, slots=True)
class History:
    items: list[ActionRead]
    next_cursor: str | None


async def history(
    runtime: ActionsDeps, *, shown: str | None, action: str | None, before_id: str | None
) -> History:
    """Newest first, keyset on the time-ordered id. `shown` is one of LABELS (what the row
    will show); `action` ending in `*` is a prefix."""
    query = select(ActionRequest).order_by(ActionRequest.id.desc()).limit(HISTORY_PAGE + 1)
    if shown is not None:
        query = query.where(_shown_as(shown))
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
