"""Write follow-up work inside the caller's transaction; claim it for the relay.

Never commits. A row is done once `done_at` is set; until then the relay re-offers it
whenever its lease (`next_attempt_at`) lapses, so a crashed job is retried, not lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.kit.bulk import built
from approvals.kit.clock import utc_now
from approvals.kit.db import is_postgres
from approvals.kit.ids import new_id
from approvals.kit.tracing import current_request_id, current_traceparent
from approvals.outbox import handover
from approvals.outbox.models import OutboxMessage


class RetryLater(Exception):
    """Raised by a job that wants another attempt after `seconds` (e.g. a receiver's
    Retry-After); the runner records it and the relay offers the row again then."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    kind: str
    target_id: str
    attempts: int


def add(
    session: AsyncSession,
    kind: str,
    target_id: str,
    dedupe_key: str,
    *,
    held_for_seconds: int | None = None,
) -> str:
    """`held_for_seconds`: the caller will run this job itself right after its commit, so the
    row is written already leased to it; the relay offers it only if that lease lapses (the
    caller died) or the run records a retry, exactly as for a relayed job. Otherwise, in a
    session of the Runtime, the row is written leased to this process, which enqueues it after
    the commit (`handover`); elsewhere it is due at once, for the relay's claim."""
    now = utc_now()
    message_id = new_id()
    queue_now = handover.of(session) if held_for_seconds is None else None
    if queue_now is not None:
        held_for_seconds = queue_now.lease_seconds
        handover.remember(session, handover.Written(message_id, kind))
    session.add(
        built(  # no per-attribute events: every state change writes these rows
            OutboxMessage,
            id=message_id,
            kind=kind,
            target_id=target_id,
            dedupe_key=dedupe_key,
            created_at=now,
            next_attempt_at=now + timedelta(seconds=held_for_seconds or 0),
            attempts=0,
            request_id=current_request_id(),
            traceparent=current_traceparent(),
        )
    )
    return message_id


async def claim_due(session: AsyncSession, *, limit: int, lease_seconds: int) -> list[Claimed]:
    """Lease up to `limit` due rows; other relays skip rows locked here (PostgreSQL).

    Two statements whatever the batch size: a select of the due rows, one UPDATE of them all
    (Core, not ORM objects: an ORM flush updates row by row)."""
    now = utc_now()
    query = (
        select(
            OutboxMessage.id, OutboxMessage.kind, OutboxMessage.target_id, OutboxMessage.attempts
        )
        .where(OutboxMessage.done_at.is_(None), OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    rows = (await session.execute(query)).all()
    if rows:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([row.id for row in rows]))
            .values(
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=now + timedelta(seconds=lease_seconds),
            )
            .execution_options(synchronize_session=False)
        )
    return [Claimed(row.id, row.kind, row.target_id, row.attempts + 1) for row in rows]


async def count_unfinished(session: AsyncSession) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None))
    return int((await session.execute(query)).scalar_one())


@dataclass(frozen=True, slots=True)
class Unfinished:
    """What a job run needs of its row: the work, and where it came from (logs, traces)."""

    id: str
    kind: str
    target_id: str
    attempts: int
    created_at: datetime
    request_id: str | None
    traceparent: str | None


_TABLE = OutboxMessage.metadata.tables[OutboxMessage.__tablename__]
# Plain Core on the table, not the mapped class: every job runs these two, and an ORM-enabled
# statement costs a bulk-persistence pass (0.2-0.3 CPU ms on SQLite) for nothing.
_UNFINISHED = select(
    _TABLE.c.kind,
    _TABLE.c.target_id,
    _TABLE.c.attempts,
    _TABLE.c.created_at,
    _TABLE.c.request_id,
    _TABLE.c.traceparent,
).where(_TABLE.c.id == bindparam("message_id"), _TABLE.c.done_at.is_(None))
_DONE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("message_id"), _TABLE.c.done_at.is_(None))
    .values(done_at=bindparam("now"), last_error=None)
)


async def unfinished(session: AsyncSession, message_id: str) -> Unfinished | None:
    """The row, unless it is gone or done (a duplicate run has nothing to do)."""
    row = (await session.execute(_UNFINISHED, {"message_id": message_id})).first()
    return None if row is None else Unfinished(message_id, *row)


async def mark_done(session: AsyncSession, message_id: str) -> bool:
    """True if this call completed the row; False if it was already done (a duplicate run)."""
    result = await session.execute(_DONE, {"message_id": message_id, "now": utc_now()})
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def mark_failed(
    session: AsyncSession, message_id: str, *, error: str, retry_in_seconds: float
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.done_at.is_(None))
        .values(
            last_error=error[:500],
            next_attempt_at=utc_now() + timedelta(seconds=retry_in_seconds),
        )
    )
