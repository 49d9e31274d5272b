"""Append to, read and verify the audit trail. Never commits: the caller's transaction owns it.

Reads walk the chain by keyset (seq) in batches, so no call loads the whole table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.audit import chain
from approvals.audit.models import AuditEvent, AuditHead
from approvals.kit import tracing
from approvals.kit.bulk import built
from approvals.kit.clock import utc_now

# The Core table: its executemany has no RETURNING (the ORM bulk insert would fetch ids).
AUDIT_EVENTS = AuditEvent.metadata.tables[AuditEvent.__tablename__]


@dataclass(frozen=True, slots=True)
class NewEvent:
    event_type: str
    actor: str
    action_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    # The HTTP request (or the job it caused) that produced this event, for tracing.
    request_id: str | None = field(default_factory=tracing.current_request_id)


def _with_request_id(event: NewEvent) -> dict[str, Any]:
    """The payload to store: the event's own, plus the request id that caused it (tracing)."""
    payload = dict(event.payload)
    if event.request_id is not None:
        payload["request_id"] = event.request_id
    return payload


async def append(session: AsyncSession, events: Sequence[NewEvent]) -> None:
    """Add `events` to the trail, unsealed: no lock, no read of the head.

    The sequencer (`approvals.audit.sequencer`) links them into the hash chain after this
    transaction commits, within APPROVALS_AUDIT_SEAL_INTERVAL_SECONDS; a rollback takes them
    away with the rest of the transaction. Payloads carry findings and ids, never request values.
    """
    if events:
        # One executemany with no RETURNING (nothing needs the ids): a single statement per
        # transaction on both backends, where ORM objects cost one INSERT each on SQLite.
        await session.execute(insert(AUDIT_EVENTS), rows(events))


def add(session: AsyncSession, events: Sequence[NewEvent]) -> None:
    """Add `events` to the trail, unsealed, as new objects of the session: written with the
    transaction's other new rows (`kit.bulk.insert_added`, or the flush at commit, which keeps
    the order they were added in), not by a statement of their own as `append` writes them.
    For a transaction that adds rows anyway (a release: its notice and callback)."""
    session.add_all([built(AuditEvent, **row) for row in rows(events)])


def rows(events: Sequence[NewEvent]) -> list[dict[str, Any]]:
    """`events` as rows of the trail's table, unsealed (for a caller that writes its rows
    together, `kit.bulk.insert_added`; `append` otherwise)."""
    now = utc_now()
    return [
        {
            "event_type": event.event_type,
            "occurred_at": now,
            "actor": event.actor,
            "action_id": event.action_id,
            "payload": _with_request_id(event),
        }
        for event in events
    ]


async def events_for(session: AsyncSession, action_id: str) -> list[AuditEvent]:
    result = await session.execute(
        # Insertion order: it agrees with the chain's for one request (each step commits
        # before the next begins) and includes events not sealed yet.
        select(AuditEvent).where(AuditEvent.action_id == action_id).order_by(AuditEvent.id)
    )
    return list(result.scalars())


def as_chained(row: AuditEvent) -> chain.ChainedEvent:
    """A sealed row as the chain sees it (callers read sealed rows only: by seq)."""
    if row.seq is None or row.prev_hash is None or row.hash is None:
        raise ValueError(f"audit event id {row.id} is not sealed yet")
    return chain.ChainedEvent(
        row.seq,
        row.event_type,
        row.occurred_at,
        row.actor,
        row.action_id,
        row.payload,
        row.prev_hash,
        row.hash,
    )


async def batches(
    session: AsyncSession, *, first_seq: int = 1, last_seq: int | None = None, size: int = 1000
) -> AsyncIterator[list[AuditEvent]]:
    """Events first_seq..last_seq in seq order, `size` at a time (keyset, no OFFSET)."""
    next_seq = first_seq
    while True:
        query = select(AuditEvent).where(AuditEvent.seq >= next_seq)
        if last_seq is not None:
            query = query.where(AuditEvent.seq <= last_seq)
        rows = list((await session.execute(query.order_by(AuditEvent.seq).limit(size))).scalars())
        if not rows:
            return
        yield rows
        next_seq = (rows[-1].seq or 0) + 1


async def head(session: AsyncSession) -> AuditHead:
    return (await session.execute(select(AuditHead).where(AuditHead.id == 1))).scalar_one()


@dataclass(frozen=True, slots=True)
class ChainStatus:
    intact: bool
    events_checked: int
    head_seq: int
    head_hash: str
    checkpoints_matched: int
    broken: chain.ChainBreak | None
    pending_events: int = 0  # appended, not yet sealed: not covered by this check


async def verify(
    session: AsyncSession, *, checkpoints: Mapping[int, str] | None = None, batch: int = 1000
) -> ChainStatus:
    """Walk the sealed chain (1..head) as it was when the walk began; count what still waits.

    Reading the head first matters: events sealed while we walk are newer than the tip we
    check against, not "inserted". Signed checkpoints ({seq: hash}) catch a consistent rewrite.
    """
    # Waiting events first: one sealed between the two reads is then counted as waiting,
    # never dropped from both counts.
    waiting = await pending(session)
    tip = await head(session)
    tip_seq, tip_hash = tip.last_seq, tip.last_hash
    walker = chain.Walker(checkpoints=checkpoints)
    found: chain.ChainBreak | None = None
    async for rows in batches(session, last_seq=tip_seq, size=batch):
        found = walker.feed([as_chained(row) for row in rows])
        if found:
            break
    if found is None:
        found = await _tail_problem(session, walker, tip_seq, tip_hash, checkpoints or {})
    return ChainStatus(
        intact=found is None,
        events_checked=walker.checked,
        head_seq=tip_seq,
        head_hash=tip_hash,
        checkpoints_matched=walker.checkpoints_matched,
        broken=found,
        pending_events=waiting,
    )


async def pending(
    session: AsyncSession, start: datetime | None = None, end: datetime | None = None
) -> int:
    """Events (of [start, end)) appended but not yet sealed into the chain."""
    where = EventFilter(start=start, end=end).clauses()
    found = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None), *where)
    )
    return int(found or 0)


async def _tail_problem(
    session: AsyncSession,
    walker: chain.Walker,
    tip_seq: int,
    tip_hash: str,
    checkpoints: Mapping[int, str],
) -> chain.ChainBreak | None:
    walked = walker.next_seq - 1
    if walked < tip_seq:
        return chain.ChainBreak(
            walker.next_seq,
            f"events {walker.next_seq}–{tip_seq} missing: deleted",
            chain.BreakKind.DELETED,
        )
    if walker.last_hash != tip_hash:
        return chain.ChainBreak(tip_seq, "the last event does not match the chain head: edited")
    beyond = [seq for seq in checkpoints if seq > tip_seq]
    if beyond:
        return chain.ChainBreak(
            tip_seq + 1,
            f"a signed checkpoint names event {max(beyond)}, past the head: history truncated",
            chain.BreakKind.DELETED,
        )
    # Read the top seq before re-reading the head: any honest append committed in between is
    # then covered by the head we compare with.
    top = (await session.execute(select(func.max(AuditEvent.seq)))).scalar_one_or_none() or 0
    # A fresh read of the column: the ORM would hand back the head object loaded above.
    now_seq = (await session.execute(select(AuditHead.last_seq).where(AuditHead.id == 1))).scalar()
    if top > (now_seq or 0):
        return chain.ChainBreak(
            tip_seq + 1,
            f"events past the chain head (up to {top}) were not sealed by the sequencer: inserted",
            chain.BreakKind.INSERTED,
        )
    return None


async def verify_all(session: AsyncSession, batch: int = 1000) -> chain.ChainBreak | None:
    """The first break in the chain, or None if intact."""
    return (await verify(session, batch=batch)).broken


@dataclass(frozen=True, slots=True)
class EventFilter:
    action_id: str | None = None
    actor: str | None = None
    event_type: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.action_id:
            found.append(AuditEvent.action_id == self.action_id)
        if self.actor:
            found.append(AuditEvent.actor == self.actor)
        if self.event_type:
            found.append(AuditEvent.event_type == self.event_type)
        if self.start:
            found.append(AuditEvent.occurred_at >= self.start)
        if self.end:
            found.append(AuditEvent.occurred_at < self.end)
        return found


async def page(
    session: AsyncSession, where: EventFilter, *, after_seq: int, limit: int
) -> list[AuditEvent]:
    """Up to `limit` matching sealed events with seq > after_seq, oldest first (an event
    appears here once sealed, within APPROVALS_AUDIT_SEAL_INTERVAL_SECONDS)."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.seq > after_seq, *where.clauses())
        .order_by(AuditEvent.seq)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def seq_range(
    session: AsyncSession, start: datetime | None, end: datetime | None
) -> tuple[int, int] | None:
    """First and last seq of sealed events in [start, end), or None when there are none."""
    where = EventFilter(start=start, end=end).clauses()
    low, high = (
        await session.execute(
            select(func.min(AuditEvent.seq), func.max(AuditEvent.seq)).where(*where)
        )
    ).one()
    return None if low is None or high is None else (int(low), int(high))
