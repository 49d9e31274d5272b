"""The RQ side: the job function RQ calls, and the worker process `approvals worker` runs.

`run_outbox` is a sync function, so RQ does not `asyncio.run()` it in a new loop per job: every
job of a process runs on one event loop that the process keeps (`JobHost`), with one Runtime
built on it at the first job, so its pooled engine, Redis clients and keyring are reused from
job to job (building a Runtime and opening its connection cost about 14 ms per job). A
connection never outlives its loop: `close_job_host()` closes the Runtime (disposing the
engine) and then the loop, when the worker stops (SIGTERM finishes the current job first) or
the interpreter exits. A forked child (RQ's forking `Worker`) builds a host of its own. The
reconciler thread keeps its own loop and Runtime. The policy and redactor are pure and shared
by every job of the process (`_policies()`); the store reloads the file itself when it changes.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import time
from functools import cache
from types import FrameType

import structlog
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer

from approvals import telemetry
from approvals.audit import sequencer
from approvals.config import Settings, load_settings
from approvals.jobs import reconciler
from approvals.jobs.health_server import serve_health
from approvals.jobs.queue import QUEUES
from approvals.kit.loops import finish
from approvals.policy.loader import PolicyStore
from approvals.runtime import Policies, Runtime

log = structlog.get_logger(__name__)

_MOST_PAUSE_SECONDS = 30.0


@cache
def _settings() -> Settings:
    return load_settings()


@cache
def _policies() -> Policies:
    return Policies(PolicyStore(_settings().policy_file))


class JobHost:
    """The event loop and Runtime that every job of this worker process runs on.

    Jobs run one at a time on the thread that calls `run` (RQ's SimpleWorker: its main thread,
    where RQ's own signal handlers run too).
    """

    def __init__(self, settings: Settings, policies: Policies) -> None:
        self.pid = os.getpid()
        self._settings, self._policies = settings, policies
        self._loop = asyncio.new_event_loop()
        self._runtime: Runtime | None = None
        self.jobs = 0

    def run(self, outbox_id: str) -> None:
        task = self._loop.create_task(self._run(outbox_id), name=f"job:{outbox_id}")
        try:
            self._loop.run_until_complete(task)
        except BaseException:
            # A signal raised through the loop (RQ's job time-out, a second SIGTERM): cancel the
            # job so it cannot resume under the next one, then let RQ record the failure.
            task.cancel()
            with contextlib.suppress(BaseException):
                self._loop.run_until_complete(task)
            raise

    async def _run(self, outbox_id: str) -> None:
        if self._runtime is None:
            self._runtime = Runtime(self._settings, policies=self._policies)
            log.info("worker.runtime_started", pid=self.pid)
        self.jobs += 1
        await self._runtime.run_job(outbox_id)

    def close(self) -> None:
        """Close the Runtime (its engine's connections) on the loop that opened them, then the
        loop. Idempotent."""
        if self._loop.is_closed():
            return
        try:
            if self._runtime is not None:
                self._loop.run_until_complete(self._runtime.close())
                log.info("worker.runtime_closed", pid=self.pid, jobs=self.jobs)
                self._runtime = None
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
        finally:
            self._loop.close()


_host: JobHost | None = None


def job_host() -> JobHost:
    """This process's host, built at its first job. A host inherited through fork belongs to
    the parent (its connections are the parent's sockets): it is left alone, never closed."""
    global _host  # one per process, built lazily: nothing happens at import
    if _host is None or _host.pid != os.getpid():
        _host = JobHost(_settings(), _policies())
        atexit.register(close_job_host)
    return _host


def close_job_host() -> None:
    global _host
    host, _host = _host, None
    if host is not None and host.pid == os.getpid():
        try:
            host.close()
        except Exception as exc:  # shutting down: report, never mask the exit reason
            log.warning("worker.runtime_close_failed", error=type(exc).__name__)


def run_outbox(*outbox_ids: str) -> None:
    """RQ entry point: run outbox rows' jobs in order (idempotent; safe to run twice). A row
    that fails is recorded and retried on its own; the rows after it still run."""
    host = job_host()
    for outbox_id in outbox_ids:
        host.run(outbox_id)


def _reconcile_forever(settings: Settings, stop: threading.Event) -> None:
    """Expiry sweeps, stuck-row relays and the audit sequencer, on a thread beside the RQ
    worker loop."""

    async def go() -> None:
        runtime = Runtime(settings)
        probes = None
        if settings.worker_health_port:
            probes = asyncio.create_task(
                serve_health(runtime, settings.host, settings.worker_health_port), name="health"
            )
        # The worker's main thread (RQ's loop) sets `stop`; the loops here wait on an asyncio
        # event, set when it is, so they end between rounds, as the serve process's do.
        stopping = asyncio.Event()
        watcher = asyncio.create_task(_set_when(stop, stopping), name="stop-watcher")
        # Any worker may be the one that seals (elected per batch): see audit/sequencer.py.
        sealer = asyncio.create_task(
            sequencer.run_forever(runtime.db, settings.audit_seal_interval_seconds, stopping),
            name="audit-sequencer",
        )
        try:
            await reconciler.run_forever(
                runtime,
                runtime.queue,
                interval=settings.reconcile_interval_seconds,
                lease_seconds=settings.job_lease_seconds,
                stop=stopping,
            )
        finally:
            stopping.set()
            await finish([sealer])
            watcher.cancel()  # its thread ends when `stop` is set, which the caller does
            if probes is not None:
                probes.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await probes
            await runtime.close()

    asyncio.run(go())


async def _set_when(signal: threading.Event, event: asyncio.Event) -> None:
    await asyncio.to_thread(signal.wait)
    event.set()


class _Worker(SimpleWorker):
    """RQ's SimpleWorker that remembers a stop was asked for (SIGTERM, Ctrl-C): when Ctrl-C
    lands while the worker is idle, RQ ends its loop the same way as on an error it does not
    handle, and only this flag tells the two apart."""

    stop_asked = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_asked = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]


def _work_until_stopped(redis_url: str, settings: Settings, *, burst: bool) -> bool:
    """RQ's loop survives a Redis outage only while it waits for a job; when Redis goes away
    while a job is finishing (RQ records the result) or at start-up, RQ quits. The process
    must outlive the outage instead (its probes say "not ready" meanwhile, docs/operations.md),
    so the loop starts again, with a fresh worker, once Redis answers; until a stop is asked."""
    worked, pause = False, 1.0
    while True:
        worker: _Worker | None = None
        started = time.monotonic()
        try:
            connection = Redis.from_url(redis_url)
            queues = [Queue(q, connection=connection, serializer=JSONSerializer) for q in QUEUES]
            worker = _Worker(queues, connection=connection, serializer=JSONSerializer)
            # No RQ scheduler: retries and delays live on outbox rows (the reconciler re-offers
            # them), so its forked child would only hold a lock and print its own tracebacks.
            worked |= worker.work(
                burst=burst, with_scheduler=False, logging_level=settings.log_level.upper()
            )
            if burst or worker.stop_asked:
                return worked
            error = "ended"
        except RedisError as exc:
            if burst:
                raise
            error = type(exc).__name__
        except StopRequested:
            return worked
        if worker is not None and worker.stop_asked:
            return worked
        if time.monotonic() - started > _MOST_PAUSE_SECONDS:
            pause = 1.0  # a new outage after a good run starts with a short pause again
        log.warning("worker.loop_restarting", reason=error, after_seconds=pause)
        try:
            time.sleep(pause)
        except StopRequested:  # RQ's signal handler of the worker that just ended
            return worked
        pause = min(pause * 2, _MOST_PAUSE_SECONDS)


def run_worker(settings: Settings, redis_url: str, *, burst: bool) -> bool:
    """An RQ SimpleWorker on every queue, highest priority first (see docs/benchmarks.md for
    why SimpleWorker), restarted after a Redis outage. Returns whether it did any work."""
    stop = threading.Event()
    sweeper = None
    if not burst:
        sweeper = threading.Thread(
            target=_reconcile_forever, args=(settings, stop), name="reconciler", daemon=True
        )
        sweeper.start()
    try:
        return _work_until_stopped(redis_url, settings, burst=burst)
    finally:
        stop.set()
        close_job_host()
        telemetry.shutdown()
