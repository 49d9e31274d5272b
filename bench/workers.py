"""RQ worker classes running our job: SimpleWorker, forking Worker, two SimpleWorkers.

What it measures: `approvals.jobs.worker.run_outbox` on real `cards.update` outbox rows of
requests submitted into a fresh PostgreSQL database, with no chat channel configured, so
each job loads its row and its request and marks the row done, on the Runtime its worker
process keeps (one per process; a forking Worker's horse is a new process, so it builds one).
Workers are `rq worker` subprocesses on the approvals queues (JSON serializer, a dedicated
Redis database that is flushed before and after). For each configuration it prints:

* throughput: N jobs enqueued first, then burst workers started; jobs/s from the first job's
  end to the last job's end (RQ's own timestamps: process start-up and a SimpleWorker's
  one-off import of approvals are not counted; a forked work horse's import is);
* latency: a running worker fed one job at a time at about half its measured throughput;
  p50/p99 of enqueue→start and enqueue→finish.

Baseline, measured in the same run on the same worker class and process count: RQ's own
trivial job (`os.path.basename(id)`: no import, no I/O). Our figure is printed as a ratio
to it. The forking Worker is measured twice: as `rq worker` starts it (each forked work
horse imports approvals afresh) and with approvals imported in the parent before forking
(what `approvals worker` would do if it used `Worker`).

    PYTHONPATH=. /work/main/.venv/bin/python bench/workers.py
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import structlog
from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from bench._common import (
    PYTHON,
    child_env,
    drop_database,
    fresh_database,
    latency_ms,
    machine,
    scratch_dir,
    spawn,
    stop,
)

DATABASE = "approvals_bench_workers"
TRIVIAL_JOB = "os.path.basename"
QUEUE = "cards"  # where cards.update jobs go (approvals.jobs.queue.QUEUE_OF_KIND)
PRELOAD = "import approvals.jobs.worker; from rq.cli import main; main()"


@dataclass(frozen=True)
class Config:
    name: str
    worker_class: str
    processes: int
    preload: bool
    ours: int  # jobs in the throughput phase
    trivial: int


@dataclass
class Figures:
    jobs: int
    rate: float
    to_start: list[float]
    to_finish: list[float]


def configs(scale: float) -> list[Config]:
    def n(jobs: int) -> int:
        return max(5, int(jobs * scale))

    return [
        Config("SimpleWorker", "rq.worker.SimpleWorker", 1, False, n(150), n(1000)),
        Config("Worker (forking), rq worker", "rq.worker.Worker", 1, False, n(8), n(200)),
        Config("Worker (forking), preloaded", "rq.worker.Worker", 1, True, n(40), n(200)),
        Config("2 x SimpleWorker", "rq.worker.SimpleWorker", 2, False, n(200), n(1000)),
    ]


# --- database side ---------------------------------------------------------------------------


async def _submit_requests(dsn: str, count: int) -> list[str]:
    """Submit `count` requests through the real service (no Redis: their card jobs run here)."""
    from approvals.actions import service as actions_service
    from approvals.actions.schemas import ActionCreate
    from approvals.clients import service as clients_service
    from approvals.clients.schemas import Scope
    from approvals.config import Settings
    from approvals.jobs.queue import InProcessQueue
    from approvals.runtime import Runtime

    # A throwaway data directory: the Runtime writes its release keys there.
    data_dir = Path(tempfile.mkdtemp(prefix="approvals-bench-"))
    settings = Settings(_env_file=None, database_url=dsn, data_dir=data_dir)  # type: ignore[call-arg]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    runtime = Runtime(settings)
    try:
        created = await clients_service.create(
            runtime.db, name="bench", scopes=[Scope.SUBMIT], identity="svc:bench@example.org"
        )
        async with runtime.db() as session:
            client = await clients_service.authenticate(session, created.api_key)
        assert client is not None
        body = ActionCreate(
            action="sql.execute",
            resource="db.prod.encounters",
            justification="remove a duplicated encounter (ticket CHG-1042)",
            params={"sql": "DELETE FROM encounters WHERE id = 7"},
            context={"ticket": "CHG-1042"},
        )
        ids = [
            (await actions_service.submit(runtime, client, body)).action.id for _ in range(count)
        ]
        if isinstance(runtime.queue, InProcessQueue):
            await runtime.queue.drain()
        return ids
    finally:
        await runtime.close()


async def _add_update_rows(dsn: str, action_ids: list[str], count: int) -> list[str]:
    """`count` pending cards.update rows, spread over the requests (as votes would add)."""
    from approvals.kit.db import create_engine, session_factory, transaction
    from approvals.outbox import service as outbox

    engine = create_engine(dsn)
    try:
        async with transaction(session_factory(engine)) as session:
            return [
                outbox.add(
                    session,
                    "cards.update",
                    action_ids[i % len(action_ids)],
                    f"cards.update:bench:{uuid.uuid4()}",
                )
                for i in range(count)
            ]
    finally:
        await engine.dispose()


async def _undone(dsn: str, ids: list[str]) -> int:
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM outbox WHERE id = ANY(%s) AND done_at IS NULL", (ids,)
        )
        row = await cursor.fetchone()
        return int(row[0]) if row else -1


# --- RQ side ---------------------------------------------------------------------------------


class Bench:
    def __init__(self, dsn: str, redis_url: str, action_ids: list[str], cwd: Path) -> None:
        self.dsn, self.redis_url, self.action_ids, self.cwd = dsn, redis_url, action_ids, cwd
        self.redis = Redis.from_url(redis_url)
        self.queue = Queue(QUEUE, connection=self.redis, serializer=JSONSerializer)
        self.env = child_env({"APPROVALS_DATABASE_URL": dsn, "APPROVALS_REDIS_URL": redis_url})

    def enqueue(self, job: str, row_id: str) -> str:
        """Enqueue as approvals' RQQueue does (job id per lease, unique, TTLs, queue)."""
        job_id = f"outbox-{row_id}-1" if job != TRIVIAL_JOB else f"trivial-{row_id}"
        self.queue.enqueue_call(
            job,
            args=(row_id,),
            job_id=job_id,
            unique=True,
            result_ttl=3600,
            failure_ttl=86400,
            description="cards.update" if job != TRIVIAL_JOB else "trivial",
        )
        return job_id

    def start_workers(self, config: Config, *, burst: bool) -> list:  # type: ignore[type-arg]
        head = [PYTHON, "-c", PRELOAD] if config.preload else [str(Path(PYTHON).parent / "rq")]
        procs = []
        for _ in range(config.processes):
            args = [
                *head,
                "worker",
                "-w",
                config.worker_class,
                "--serializer",
                "rq.serializers.JSONSerializer",
                "-u",
                self.redis_url,
                "-n",
                f"bench-{uuid.uuid4().hex[:8]}",
                *(["--burst"] if burst else []),
                "release",
                "cards",
                "callbacks",
                "maintenance",
            ]
            procs.append(spawn(args, env=self.env, cwd=self.cwd))
        return procs

    def wait_finished(self, job_ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(
            j is None or j.get_status() not in (JobStatus.FINISHED, JobStatus.FAILED)
            for j in Job.fetch_many(job_ids, connection=self.redis, serializer=JSONSerializer)
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(job_ids)} jobs did not finish in {timeout} s")
            time.sleep(0.05)

    def jobs(self, job_ids: list[str]) -> list[Job]:
        jobs = Job.fetch_many(job_ids, connection=self.redis, serializer=JSONSerializer)
        missing = [j for j in jobs if j is None]
        failed = [j.id for j in jobs if j is not None and j.get_status() != JobStatus.FINISHED]
        if missing or failed:
            raise RuntimeError(f"{len(missing)} jobs missing, {len(failed)} not finished")
        return [j for j in jobs if j is not None]

    def rows(self, job: str, count: int) -> list[str]:
        if job == TRIVIAL_JOB:
            return [uuid.uuid4().hex for _ in range(count)]
        return asyncio.run(_add_update_rows(self.dsn, self.action_ids, count))

    def check_done(self, job: str, rows: list[str]) -> None:
        if job != TRIVIAL_JOB and (left := asyncio.run(_undone(self.dsn, rows))):
            raise RuntimeError(f"{left} outbox rows were not marked done")

    def throughput(self, config: Config, job: str, count: int) -> float:
        rows = self.rows(job, count)
        job_ids = [self.enqueue(job, r) for r in rows]
        procs = self.start_workers(config, burst=True)
        for proc in procs:
            proc.wait(timeout=300)
        jobs = self.jobs(job_ids)
        self.check_done(job, rows)
        ends = sorted(j.ended_at for j in jobs if j.ended_at)
        # from the end of the first job: a SimpleWorker's first job also imports approvals
        return (len(ends) - 1) / (ends[-1] - ends[0]).total_seconds()

    def latency(self, config: Config, job: str, rate: float) -> tuple[list[float], list[float]]:
        interval = max(0.02, 2.0 / rate)  # about half of the measured throughput
        count = max(5, min(20, int(5.0 / interval)))
        warm, *rows = self.rows(job, count + 1)
        procs = self.start_workers(config, burst=False)
        try:
            deadline = time.monotonic() + 30
            while Worker.count(connection=self.redis) < config.processes:
                if time.monotonic() > deadline:
                    raise TimeoutError("workers did not register")
                time.sleep(0.05)
            # one unmeasured job per process first: a fresh SimpleWorker imports approvals then
            warm_ids = [self.enqueue(job, warm)]
            for _ in range(config.processes - 1):
                warm_ids.append(self.enqueue(job, self.rows(job, 1)[0]))
            self.wait_finished(warm_ids, timeout=30)
            time.sleep(0.2)
            job_ids = []
            for row in rows:
                job_ids.append(self.enqueue(job, row))
                time.sleep(interval)
            self.wait_finished(job_ids, timeout=60)
        finally:
            for proc in procs:
                stop(proc)
        jobs = self.jobs(job_ids)
        self.check_done(job, rows)
        to_start = [(j.started_at - j.enqueued_at).total_seconds() for j in jobs]  # type: ignore[operator]
        to_finish = [(j.ended_at - j.enqueued_at).total_seconds() for j in jobs]  # type: ignore[operator]
        return to_start, to_finish

    def measure(self, config: Config, job: str, count: int) -> Figures:
        rate = self.throughput(config, job, count)
        to_start, to_finish = self.latency(config, job, rate)
        return Figures(count, rate, to_start, to_finish)


def show(label: str, figures: Figures, baseline: Figures | None) -> None:
    ratio = f"   {figures.rate / baseline.rate:.3f}x trivial" if baseline else ""
    print(
        f"    {label:<8} {figures.jobs:5d} jobs {figures.rate:8.1f} jobs/s{ratio}\n"
        f"             enqueue→start {latency_ms(figures.to_start)}; "
        f"enqueue→finish {latency_ms(figures.to_finish)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--requests", type=int, default=50, help="requests the rows belong to")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every job count")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args()
    if not args.redis_url.rstrip("/").rsplit("/", 1)[-1].isdigit():
        parser.error("give --redis-url a dedicated database number, e.g. redis://host:6379/13")

    print(f"workers benchmark · {machine()}")
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    dsn = fresh_database(DATABASE)
    try:
        action_ids = asyncio.run(_submit_requests(dsn, args.requests))
        with scratch_dir() as cwd:
            bench = Bench(dsn, args.redis_url, action_ids, cwd)
            trivial: dict[tuple[str, int], Figures] = {}
            for config in configs(args.scale):
                print(f"  {config.name} ({config.processes} process(es))")
                key = (config.worker_class, config.processes)
                if key not in trivial:
                    trivial[key] = bench.measure(config, TRIVIAL_JOB, config.trivial)
                base = trivial[key]
                ours = bench.measure(config, "approvals.jobs.worker.run_outbox", config.ours)
                show("trivial", base, None)
                show("ours", ours, base)
    finally:
        redis.flushdb()
        redis.close()
        if not args.keep_database:
            drop_database(DATABASE)


if __name__ == "__main__":
    main()
