"""Move outbox rows to the job queue: the ones this process just committed (its hand-over
list, no database work), and on every reconciler tick the due ones (a claim)."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.jobs.queue import Job, JobQueue, batched, priority
from approvals.kit.db import transaction
from approvals.kit.loops import finish
from approvals.outbox import service as outbox
from approvals.outbox.handover import ATTEMPT, Handover

log = structlog.get_logger(__name__)


async def relay_once(
    db: async_sessionmaker[AsyncSession], queue: JobQueue, *, lease_seconds: int, batch: int = 100
) -> int:
    """Lease due rows, then enqueue them. A row whose job never finishes is offered again
    when its lease lapses, so a lost enqueue or a crashed job delays work, never loses it."""
    total = 0
    while True:
        async with transaction(db) as session:
            claimed = await outbox.claim_due(session, limit=batch, lease_seconds=lease_seconds)
        await enqueue_in_order(
            queue, [Job.single(item.kind, item.id, item.attempts) for item in claimed]
        )
        total += len(claimed)
        if len(claimed) < batch:
            return total


async def hand_over(handover: Handover, queue: JobQueue) -> int:
    """Enqueue the rows this process committed since the last call (they are leased to it:
    a failed enqueue is retried by the reconciler's claim when the lease lapses). Each commit's
    rows for one queue go as one job; on the cards queue, the commits taken together share
    jobs (`queue.batched`)."""
    commits = handover.take()
    jobs = batched([[(r.kind, r.id) for r in rows] for rows in commits], ATTEMPT)
    await enqueue_in_order(queue, jobs)
    return sum(len(rows) for rows in commits)


async def enqueue_in_order(queue: JobQueue, jobs: list[Job]) -> None:
    """Highest-priority queue first: a decision's release is not queued behind its card
    update and notice."""
    await queue.enqueue_many(sorted(jobs, key=priority))


class Relay:
    """Coalesces after-commit kicks: many commits in a burst cost one hand-over (one trip to
    the queue) for all their rows."""

    def __init__(self, handover: Handover, queue: JobQueue) -> None:
        self._handover, self._queue = handover, queue
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def kick(self) -> None:
        self._wanted.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-relay")

    async def _loop(self) -> None:
        while not self._stopping:
            await self._wanted.wait()
            self._wanted.clear()
            await self._hand_over()
        await self._hand_over()  # rows committed while the last one was on its way

    async def _hand_over(self) -> None:
        try:
            await hand_over(self._handover, self._queue)
        except Exception:  # queue briefly away: the reconciler's claim retries
            log.exception("relay.failed")

    async def stop(self) -> None:
        """Hand over what was committed before the stop, then end: those rows reach the
        queue now rather than when their lease lapses and the reconciler re-offers them."""
        if self._task is not None:
            self._stopping = True
            self._wanted.set()
            await finish([self._task])
