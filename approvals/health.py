"""Readiness and scrape-time gauges, shared by the API process and the worker's health port."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from approvals import metrics
from approvals.errors import Unavailable
from approvals.jobs.queue import JobQueue
from approvals.outbox import service as outbox_service
from approvals.policy.loader import PolicyStore


class Probed(Protocol):
    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def queue(self) -> JobQueue: ...

    @property
    def db(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def policies(self) -> PolicyStore: ...


async def readiness(rt: Probed, *, queue_required: bool) -> dict[str, str]:
    """Ready when the database answers; the queue is checked too (when Redis is configured).

    An API process stays ready without its queue (`queue_required=False`): intake writes the
    work to the outbox and the relay hands it over once Redis is back, so failing readiness
    would turn a Redis outage into an intake outage. A worker without its queue can do
    nothing, so for it the queue is required. A broken policy edit does not make a process
    unready (the previous policy stays in force); it is reported here and as a gauge."""
    try:
        async with rt.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise Unavailable(f"database unreachable ({type(exc).__name__})") from None
    queue = "ok"
    try:
        await rt.queue.ping()
    except Exception as exc:
        if queue_required:
            raise Unavailable(f"job queue unreachable ({type(exc).__name__})") from None
        queue = "unreachable"
    metrics.queue_up.set(1 if queue == "ok" else 0)
    return {
        "status": "ready" if queue == "ok" else "degraded",
        "database": "ok",
        "queue": queue,
        "policy": "reload_failed" if rt.policies.last_error else "ok",
    }


async def refresh_gauges(rt: Probed) -> None:
    async with rt.db() as session:
        metrics.outbox_due.set(await outbox_service.count_unfinished(session))
    try:
        for name, depth in (await rt.queue.depths()).items():
            metrics.queue_depth.labels(queue=name).set(depth)
    except Exception:  # noqa: S110  a scrape must answer even when Redis is away (readyz says so)
        pass
    metrics.policy_reload_failures.set(rt.policies.failed_reloads)
    metrics.policy_reload_failing.set(1 if rt.policies.last_error else 0)
