"""The RQ side: the job function RQ calls, and the worker process `approvals worker` runs.

RQ runs each job under a new event loop, so a job builds a short-lived Runtime whose engine
lives as long as that loop: it is pooled, so the job's sessions share one connection (a NullPool
engine opened four per job and took twice as long), and `Runtime.close()` disposes it before
the loop ends, so no connection outlives its loop. The policy and redactor are pure and shared
by every job of the process (`_policies()`); the store reloads the file itself when it changes.
"""

from __future__ import annotations

import asyncio
import threading
from functools import cache

import structlog
from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from approvals.config import Settings, load_settings
from approvals.jobs import reconciler
from approvals.jobs.queue import QUEUES
from approvals.kit.db import create_engine
from approvals.policy.loader import PolicyStore
from approvals.runtime import Policies, Runtime

log = structlog.get_logger(__name__)


@cache
def _settings() -> Settings:
    return load_settings()


@cache
def _policies() -> Policies:
    return Policies(PolicyStore(_settings().policy_file))


def run_outbox(outbox_id: str) -> None:
    """RQ entry point: run one outbox row's job (idempotent; safe to run twice)."""

    async def go() -> None:
        settings = _settings()
        runtime = Runtime(
            settings, engine=create_engine(settings.resolved_database_url), policies=_policies()
        )
        try:
            await runtime.run_job(outbox_id)
        finally:
            await runtime.close()

    asyncio.run(go())


def _reconcile_forever(settings: Settings, stop: threading.Event) -> None:
    """Expiry sweeps and stuck-row relays, on a thread beside the RQ worker loop."""

    async def go() -> None:
        runtime = Runtime(settings)
        try:
            while not stop.is_set():
                try:
                    await reconciler.tick(
                        runtime, runtime.queue, lease_seconds=settings.job_lease_seconds
                    )
                except Exception as exc:
                    log.warning("reconciler.failed", error=type(exc).__name__)
                await asyncio.sleep(settings.reconcile_interval_seconds)
        finally:
            await runtime.close()

    asyncio.run(go())


def run_worker(settings: Settings, redis_url: str, *, burst: bool) -> bool:
    """An RQ SimpleWorker on every queue, highest priority first (see docs/benchmarks.md for
    why SimpleWorker). Returns whether the worker did any work."""
    connection = Redis.from_url(redis_url)
    queues = [Queue(name, connection=connection, serializer=JSONSerializer) for name in QUEUES]
    worker = SimpleWorker(queues, connection=connection, serializer=JSONSerializer)
    stop = threading.Event()
    sweeper = None
    if not burst:
        sweeper = threading.Thread(
            target=_reconcile_forever, args=(settings, stop), name="reconciler", daemon=True
        )
        sweeper.start()
    try:
        return bool(
            worker.work(
                burst=burst, with_scheduler=not burst, logging_level=settings.log_level.upper()
            )
        )
    finally:
        stop.set()
