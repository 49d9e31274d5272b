"""The queue seam: where relayed outbox rows go to be run.

`InProcessQueue` runs jobs as tasks on the server's own event loop (the embedded default:
no Redis). Jobs carry only the outbox row id; everything else is loaded from the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import structlog
from redis import Redis
from rq import Queue
from rq.queue import EnqueueData
from rq.serializers import JSONSerializer

log = structlog.get_logger(__name__)

JobRunner = Callable[[str], Awaitable[None]]
# (outbox row kind, outbox row id, attempt)
Job = tuple[str, str, int]


class JobQueue(Protocol):
    async def enqueue(self, kind: str, outbox_id: str, attempt: int = 1) -> None: ...

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        """`enqueue` for each job, in order; one hand-over for all (the relay's batch)."""

    async def ping(self) -> None:
        """Raise if the queue cannot take jobs now (readiness)."""

    async def depths(self) -> dict[str, int]:
        """Jobs waiting, by queue name (metrics)."""

    async def close(self) -> None: ...


class InProcessQueue:
    def __init__(self, runner: JobRunner) -> None:
        self._runner = runner
        self._tasks: set[asyncio.Task[None]] = set()

    async def enqueue(self, kind: str, outbox_id: str, attempt: int = 1) -> None:
        del attempt  # in-process jobs need no de-duplication id
        task = asyncio.create_task(self._run(kind, outbox_id), name=f"job:{kind}:{outbox_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        for kind, outbox_id, attempt in jobs:
            await self.enqueue(kind, outbox_id, attempt)

    async def _run(self, kind: str, outbox_id: str) -> None:
        try:
            await self._runner(outbox_id)
        except Exception:  # the runner records failures itself; never kill the loop
            log.exception("job.crashed", kind=kind, outbox_id=outbox_id)

    async def ping(self) -> None:
        return  # in this process: up while the process is

    async def depths(self) -> dict[str, int]:
        return {"in-process": len(self._tasks)}

    async def drain(self) -> None:
        """Wait for every job enqueued so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()


QUEUE_OF_KIND = {
    "cards.post": "cards",
    "cards.update": "cards",
    "cards.remind": "cards",
    "cards.escalate": "cards",
    "notify.requester": "cards",  # chat platform calls, under the same rate limits as cards
    "release": "release",
    "callbacks.deliver": "callbacks",
}
QUEUES = ("release", "cards", "callbacks", "maintenance")  # a worker's order of priority
JOB_FUNCTION = "approvals.jobs.worker.run_outbox"


def priority(kind: str) -> int:
    """Lower first: the position of the kind's queue in `QUEUES`."""
    return QUEUES.index(QUEUE_OF_KIND.get(kind, "maintenance"))


class RQQueue:
    """Enqueues outbox ids on RQ. Job ids are deterministic per lease (`outbox-<id>-<attempt>`,
    attempt 0 for the writer's own hand-over, 1 and on for the relay's claims), so one lease is
    one job; a job that runs twice finds its row done and does nothing."""

    def __init__(self, redis_url: str) -> None:
        self._redis = Redis.from_url(redis_url)
        self._queues = {
            name: Queue(name, connection=self._redis, serializer=JSONSerializer) for name in QUEUES
        }

    async def enqueue(self, kind: str, outbox_id: str, attempt: int = 1) -> None:
        await self.enqueue_many([(kind, outbox_id, attempt)])

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        """One worker-thread hop (RQ's client is blocking) and one Redis round trip (a
        pipeline) for the whole batch, in order: per-job hops and per-job round trips cost
        more CPU than the Redis commands themselves."""
        if jobs:
            await asyncio.to_thread(self._enqueue_all, jobs)

    def _enqueue_all(self, jobs: Sequence[Job]) -> None:
        by_queue: dict[str, list[EnqueueData]] = {}
        for kind, outbox_id, attempt in jobs:
            by_queue.setdefault(QUEUE_OF_KIND.get(kind, "maintenance"), []).append(
                Queue.prepare_data(
                    JOB_FUNCTION,
                    args=(outbox_id,),
                    job_id=f"outbox-{outbox_id}-{attempt}",
                    result_ttl=3600,
                    failure_ttl=7 * 86400,
                    description=kind,
                )
            )
        with self._redis.pipeline() as pipe:
            for name, datas in by_queue.items():
                self._queues[name].enqueue_many(datas, pipeline=pipe)
            pipe.execute()

    async def ping(self) -> None:
        await asyncio.to_thread(self._redis.ping)

    async def depths(self) -> dict[str, int]:
        def count() -> dict[str, int]:
            pipe = self._redis.pipeline(transaction=False)
            for queue in self._queues.values():
                pipe.llen(queue.key)
            return dict(zip(self._queues, pipe.execute(), strict=True))

        return await asyncio.to_thread(count)

    async def close(self) -> None:
        await asyncio.to_thread(self._redis.close)
