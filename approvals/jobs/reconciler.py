"""The periodic sweep: expire overdue requests and re-offer outbox rows whose lease lapsed.

Nothing depends on one timer surviving a restart: every tick recomputes what is due.
"""

from __future__ import annotations

import asyncio

import structlog

from approvals.actions import decisions, reminders
from approvals.actions.ports import ActionsDeps
from approvals.jobs.queue import JobQueue
from approvals.jobs.relay import relay_once
from approvals.kit.loops import pause

log = structlog.get_logger(__name__)


async def tick(deps: ActionsDeps, queue: JobQueue, *, lease_seconds: int) -> tuple[int, int]:
    expired = await decisions.expire_due(deps)
    await reminders.remind_due(deps)
    await reminders.escalate_due(deps)
    relayed = await relay_once(deps.db, queue, lease_seconds=lease_seconds)
    return len(expired), relayed


async def run_forever(
    deps: ActionsDeps,
    queue: JobQueue,
    *,
    interval: float,
    lease_seconds: int,
    stop: asyncio.Event | None = None,
) -> None:
    """Tick every `interval` seconds until `stop` is set (between ticks, never inside one)."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            expired, relayed = await tick(deps, queue, lease_seconds=lease_seconds)
            if expired or relayed:
                log.info("reconciler.tick", expired=expired, relayed=relayed)
        except Exception:  # the database may be briefly away; the next tick retries
            log.exception("reconciler.failed")
        await pause(stop, interval)
