"""Nudges for requests nobody has decided yet: a reminder, then escalation to other channels.

Each fires at most once per request: the moment is claimed by a compare-and-set on its
`*_at` column while the request is still pending, in the same transaction as its audit event
and outbox row. The reconciler calls these on every tick, so a restart loses nothing.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.actions.models import ActionRequest
from approvals.actions.ports import ActionsDeps
from approvals.actions.states import Status
from approvals.audit import service as audit_service
from approvals.audit.service import NewEvent
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.outbox import service as outbox


async def remind_due(deps: ActionsDeps, *, limit: int = 200) -> list[str]:
    return await _fire(deps, "remind", limit)


async def escalate_due(deps: ActionsDeps, *, limit: int = 200) -> list[str]:
    return await _fire(deps, "escalate", limit)


# step → (column holding its moment, column recording it fired, audit event)
_STEPS = {
    "remind": ("remind_at", "reminded_at", "reminded"),
    "escalate": ("escalate_at", "escalated_at", "escalated"),
}


async def _fire(deps: ActionsDeps, step: str, limit: int) -> list[str]:
    due_field, done_field, event = _STEPS[step]
    due_column = getattr(ActionRequest, due_field)
    done_column = getattr(ActionRequest, done_field)
    now = utc_now()
    fired: list[str] = []
    async with transaction(deps.db) as session:
        due = await session.execute(
            select(ActionRequest.id, ActionRequest.escalate_to)
            .where(
                ActionRequest.status == Status.PENDING.value,
                due_column <= now,
                done_column.is_(None),
                ActionRequest.expires_at > now,
            )
            .order_by(due_column)
            .limit(limit)
        )
        events: list[NewEvent] = []
        for action_id, escalate_to in due.all():
            if await _claim(session, action_id, done_field):
                fired.append(action_id)
                outbox.add(session, f"cards.{step}", action_id, f"cards.{step}:{action_id}")
                payload = {"to": list(escalate_to)} if step == "escalate" else {}
                events.append(NewEvent(event, "system:scheduler", action_id, payload))
        await audit_service.append(session, events)
    for action_id in fired:
        await deps.committed(action_id)
    return fired


async def _claim(session: AsyncSession, action_id: str, done_field: str) -> bool:
    column = getattr(ActionRequest, done_field)
    result = await session.execute(
        update(ActionRequest)
        .where(
            ActionRequest.id == action_id,
            ActionRequest.status == Status.PENDING.value,
            column.is_(None),
        )
        .values({column: utc_now()})
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]
