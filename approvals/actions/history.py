"""Decision history in the shape `policy suggest` reads: one record per decided request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.actions import repository
from approvals.actions.models import ActionRequest
from approvals.policy.decision import Risk
from approvals.policy.suggest import HistoryRecord


async def decided_since(
    db: async_sessionmaker[AsyncSession], since: datetime, *, limit: int = 50_000
) -> list[HistoryRecord]:
    """Requests decided at or after `since`, newest first, with who approved them."""
    async with db() as session:
        rows = list(
            (
                await session.execute(
                    select(ActionRequest)
                    .where(ActionRequest.verdict.is_not(None), ActionRequest.decided_at >= since)
                    .order_by(ActionRequest.decided_at.desc())
                    .limit(limit)
                )
            ).scalars()
        )
        votes = await repository.votes_for(session, [row.id for row in rows])
    return [
        HistoryRecord(
            id=row.id,
            action=row.action,
            resource=row.resource,
            environment=row.environment,
            outcome=row.verdict or row.status,
            approvers=tuple(sorted(v.approver for v in votes[row.id] if v.verdict == "approve")),
            guardrail_codes=tuple(g["code"] for g in row.guardrails),
            decided_at=row.decided_at or row.updated_at,
            risk=Risk(row.risk),
        )
        for row in rows
    ]
