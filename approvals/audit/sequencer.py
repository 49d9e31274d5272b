"""The one writer of the hash chain: seals events that requests appended unsealed, in batches.

Requests insert events with no global lock (`service.append`). A sequencer gives each unsealed
event the next `seq` and links it after the head, many per transaction. One runs in every
serving process and every worker; each batch is elected by `pg_try_advisory_xact_lock` on
PostgreSQL (on SQLite by its single write lock), so whichever is alive seals and a killed one's
batch simply rolls back. The head row is still locked FOR UPDATE inside the batch: a second
sealer can never fork the chain, even one that skipped the election.

Order: the sequencer only ever sees committed rows, so it seals only finished transactions.
Within a batch it goes by insertion `id`. A row whose id was taken before a later-committing
row's may become visible after that row was sealed; it is then sealed in a later batch, with a
later `seq`. The chain order is therefore the order in which commits became visible to the
sequencer, which respects causality (a transaction that saw an event commits after it); `id`
is never read as chain order, and nothing is skipped because no id range is ever assumed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals import metrics
from approvals.audit import chain
from approvals.audit.models import AuditEvent, AuditHead
from approvals.audit.service import AUDIT_EVENTS
from approvals.kit.clock import utc_now
from approvals.kit.db import is_postgres, transaction
from approvals.kit.loops import pause

# pg advisory lock key: "approvals audit sequencer", any stable 64-bit value of our own.
ADVISORY_KEY = 0x61_70_70_72_6F_76_61_6C
BATCH = 500

log = structlog.get_logger(__name__)


_SEAL = (
    update(AUDIT_EVENTS)
    .where(AUDIT_EVENTS.c.id == bindparam("key"))
    .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), hash=bindparam("hash"))
)


@dataclass(frozen=True, slots=True)
class Sealed:
    events: int
    head_seq: int
    lag_seconds: float  # how long the oldest event of this batch waited (0 when none)
    elected: bool = True  # False: another sequencer held the lock


async def seal_batch(db: async_sessionmaker[AsyncSession], *, limit: int = BATCH) -> Sealed:
    """Seal up to `limit` of the oldest unsealed events in one short transaction."""
    async with transaction(db) as session:
        if is_postgres(session):
            won = await session.scalar(select(func.pg_try_advisory_xact_lock(ADVISORY_KEY)))
            if not won:
                return Sealed(0, 0, 0.0, elected=False)
        head = (
            await session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update())
        ).scalar_one()
        # Plain rows, not ORM objects: building an identity-mapped instance per event cost
        # more than hashing it.
        rows = (
            await session.execute(
                select(
                    AuditEvent.id,
                    AuditEvent.event_type,
                    AuditEvent.occurred_at,
                    AuditEvent.actor,
                    AuditEvent.action_id,
                    AuditEvent.payload,
                )
                .where(AuditEvent.seq.is_(None))
                .order_by(AuditEvent.id)
                .limit(limit)
            )
        ).all()
        if not rows:
            return Sealed(0, head.last_seq, 0.0)
        seq, prev_hash = head.last_seq, head.last_hash
        sealed = []
        for row in rows:
            seq += 1
            body = chain.event_body(
                seq, row.event_type, row.occurred_at, row.actor, row.action_id, row.payload
            )
            digest = chain.link(prev_hash, body)
            sealed.append({"key": row.id, "seq": seq, "prev_hash": prev_hash, "hash": digest})
            prev_hash = digest
        # One Core executemany by primary key, not one round trip per event (the ORM's bulk
        # UPDATE spent longer collecting its parameters than the database spent updating).
        await session.execute(_SEAL, sealed)
        head.last_seq, head.last_hash = seq, prev_hash
        lag = max(0.0, (utc_now() - min(row.occurred_at for row in rows)).total_seconds())
    return Sealed(len(rows), seq, lag)


async def seal_all(db: async_sessionmaker[AsyncSession]) -> int:
    """Seal every event committed so far (stops early if another sequencer holds the lock).

    For one-shot callers (the CLI, tests); the serving processes run `run_forever`.
    """
    total = 0
    while True:
        done = await seal_batch(db)
        total += done.events
        if not done.elected or done.events == 0:
            return total


async def run_forever(
    db: async_sessionmaker[AsyncSession], interval: float, stop: asyncio.Event | None = None
) -> None:
    """Seal whatever was committed, every `interval` seconds (at once again after a full
    batch); never raises. The lag is how long an event waited: `interval` plus the batch.

    Once `stop` is set it seals what was committed by then and returns, so a process that
    stops cleanly leaves no event of its own waiting for another sequencer."""
    stop = stop or asyncio.Event()
    while True:
        stopping = stop.is_set()
        started = time.perf_counter()
        try:
            done = await seal_batch(db)
        except Exception as exc:  # a database blip: the next round seals it
            # The gauge keeps its last value: a lag that stops moving is worth a look.
            log.warning("audit.seal_failed", error=type(exc).__name__)
            if stopping:
                return
            await pause(stop, interval)
            continue
        if done.events:
            metrics.audit_events_sealed.inc(done.events)
            metrics.audit_seal_lag.set(done.lag_seconds)
            log.info(
                "audit.sealed",
                events=done.events,
                head_seq=done.head_seq,
                lag_ms=round(done.lag_seconds * 1000, 1),
                batch_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        else:  # nothing waited, or another process sealed it (and reports its own lag)
            metrics.audit_seal_lag.set(0.0)
        if done.events < BATCH:
            if stopping:
                return
            await pause(stop, interval)
