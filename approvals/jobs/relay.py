"""Move due outbox rows to the job queue: right after commits, and on every reconciler tick."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.jobs.queue import JobQueue, priority
from approvals.kit.db import transaction
from approvals.outbox import service as outbox

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
        # Highest-priority queue first: a decision's release is not queued behind its card
        # update and notice (each enqueue is a Redis round trip, in order).
        ordered = sorted(claimed, key=lambda c: priority(c.kind))
        await queue.enqueue_many([(item.kind, item.id, item.attempts) for item in ordered])
        total += len(claimed)
        if len(claimed) < batch:
            return total


class Relay:
    """Coalesces after-commit kicks: many commits in a burst cost one claim transaction."""

    def __init__(
        self, db: async_sessionmaker[AsyncSession], queue: JobQueue, lease_seconds: int
    ) -> None:
        self._db, self._queue, self._lease = db, queue, lease_seconds
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def kick(self) -> None:
        self._wanted.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-relay")

    async def _loop(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await relay_once(self._db, self._queue, lease_seconds=self._lease)
            except Exception:  # database briefly away: the reconciler tick retries
                log.exception("relay.failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
