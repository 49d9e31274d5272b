"""The queue seam: where relayed outbox rows go to be run.

`InProcessQueue` runs jobs as tasks on the server's own event loop (the embedded default:
no Redis). Jobs carry only the outbox row id; everything else is loaded from the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from redis import Redis
from rq import Queue
from rq.queue import EnqueueData
from rq.serializers import JSONSerializer

log = structlog.get_logger(__name__)

JobRunner = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Job:
    """Outbox rows one queued job runs, in order: the rows one commit wrote for the same queue
    (a pending submit's card and requester notice: one job, not two), on the cards queue the
    rows of the commits one hand-over carries (`batched`), or one claimed row. Each row still
    succeeds, fails and is retried on its own (`jobs.tasks.run`)."""

    kinds: tuple[str, ...]
    outbox_ids: tuple[str, ...]
    attempt: int

    @classmethod
    def single(cls, kind: str, outbox_id: str, attempt: int) -> Job:
        return cls((kind,), (outbox_id,), attempt)

    @property
    def queue(self) -> str:
        return queue_of(self.kinds[0])


class JobQueue(Protocol):
    async def enqueue(self, kind: str, outbox_id: str, attempt: int = 1) -> None: ...

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        """Each job, in order; one hand-over for all (the relay's batch)."""

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
        await self.enqueue_many([Job.single(kind, outbox_id, attempt)])

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        """A task per row (in-process jobs need no de-duplication id): rows run concurrently
        on this loop, as separate jobs would on separate workers."""
        for job in jobs:
            for kind, outbox_id in zip(job.kinds, job.outbox_ids, strict=True):
                task = asyncio.create_task(
                    self._run(kind, outbox_id), name=f"job:{kind}:{outbox_id}"
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

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


def queue_of(kind: str) -> str:
    return QUEUE_OF_KIND.get(kind, "maintenance")


def priority(job: Job) -> int:
    """Lower first: the position of the job's queue in `QUEUES`."""
    return QUEUES.index(job.queue)


# Rows of different commits share a job only on the cards queue: its calls go to the same chat
# platforms, under the same rate limits (Slack: about one message per second per channel), so
# they gain little from running side by side, and a slow platform slows them all alike. A
# release or a callback never waits behind another request's receiver. At most this many rows
# per job: a burst still spreads over the workers.
SHARED_QUEUES = frozenset({"cards"})
ROWS_PER_SHARED_JOB = 8


def batched(commits: Sequence[Sequence[tuple[str, str]]], attempt: int) -> list[Job]:
    """Jobs for the rows (kind, outbox id) of `commits`, each commit's in its order: one job
    per queue per commit, except on `SHARED_QUEUES`, where consecutive commits share jobs of
    up to `ROWS_PER_SHARED_JOB` rows (a commit's rows are never split: its card is posted
    before its notice). Under load the relay's hand-over carries several commits, and RQ's
    bookkeeping, about 0.2 CPU ms per job in the enqueuing process, is then paid once for
    them (docs/benchmarks.md)."""
    groups: list[list[tuple[str, str]]] = []
    shared: dict[str, list[tuple[str, str]]] = {}
    for rows in commits:
        own: dict[str, list[tuple[str, str]]] = {}
        for kind, outbox_id in rows:
            own.setdefault(queue_of(kind), []).append((kind, outbox_id))
        for queue, same in own.items():
            group = shared.get(queue) if queue in SHARED_QUEUES else None
            if group is not None and len(group) + len(same) <= ROWS_PER_SHARED_JOB:
                group.extend(same)
                continue
            groups.append(same)
            if queue in SHARED_QUEUES:
                shared[queue] = same
    return [
        Job(tuple(kind for kind, _ in group), tuple(i for _, i in group), attempt)
        for group in groups
    ]


class RQQueue:
    """Enqueues outbox ids on RQ. Job ids are deterministic per lease (`outbox-<id>-<attempt>`
    after the job's first row; attempt 0 for the writer's own hand-over, 1 and on for the
    relay's claims), so one lease is one job; a job that runs twice finds its rows done and
    does nothing. RQ's own bookkeeping costs about 0.1 ms of CPU per job in the enqueuing
    process, so the rows of one commit share a job per queue."""

    def __init__(self, redis_url: str) -> None:
        self._redis = Redis.from_url(redis_url)
        self._queues = {
            name: Queue(name, connection=self._redis, serializer=JSONSerializer) for name in QUEUES
        }

    async def enqueue(self, kind: str, outbox_id: str, attempt: int = 1) -> None:
        await self.enqueue_many([Job.single(kind, outbox_id, attempt)])

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        """One worker-thread hop (RQ's client is blocking) and one Redis round trip (a
        pipeline) for the whole batch, in order: per-job hops and per-job round trips cost
        more CPU than the Redis commands themselves."""
        if jobs:
            await asyncio.to_thread(self._enqueue_all, jobs)

    def _enqueue_all(self, jobs: Sequence[Job]) -> None:
        by_queue: dict[str, list[EnqueueData]] = {}
        for job in jobs:
            by_queue.setdefault(job.queue, []).append(
                Queue.prepare_data(
                    JOB_FUNCTION,
                    args=job.outbox_ids,
                    job_id=f"outbox-{job.outbox_ids[0]}-{job.attempt}",
                    result_ttl=3600,
                    failure_ttl=7 * 86400,
                    description=", ".join(job.kinds),
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
