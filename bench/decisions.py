"""Decision → callback received, beside RQ's own enqueue → job start, in the same run.

What it measures: the real path a reviewer's approval takes to the requester. The API runs in
this process (`create_app` on a Runtime with Redis, driven through httpx's ASGI transport, its
relay and reconciler loops started as `approvals serve` starts them), on a fresh migrated
PostgreSQL database and a dedicated Redis database (flushed before and after, never FLUSHALL).
One or two `approvals worker` subprocesses (RQ SimpleWorker + reconciler thread) run the jobs.
A loopback receiver (tests/fakes/callback_receiver.py, which verifies every signature) records
the arrival time of each callback.

For each of N pending requests with a `callback_url`, one at a time: the clock starts just
before `POST /v1/actions/{id}/decisions` (approve) and stops when the receiver has the
`action.released` callback for that request, i.e. the decision commit, the relay to RQ, the
release job (token minted, delivery row written), its relay, the callback job and the signed
POST. Requests are submitted, and their card jobs run, before the clock is used.

Baseline, same run, same Redis, same worker processes: RQ's own latency from enqueue to job
start for a trivial job (`os.path.basename`) on the `release` queue, from RQ's own
`enqueued_at` / `started_at` timestamps, one job at a time. The script prints our p50 as a
ratio to it (the goal: within 3x).

    PYTHONPATH=. /work/main/.venv/bin/python bench/decisions.py   # --requests 300 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from approvals.app import create_app
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.config import Settings
from approvals.kit.logging import configure_logging
from approvals.outbox.models import OutboxMessage
from approvals.release.keys import Keyring
from approvals.release.models import CallbackDelivery
from approvals.runtime import Runtime
from bench._common import (
    PYTHON,
    child_env,
    drop_database,
    fresh_database,
    latency_ms,
    machine,
    percentile,
    scratch_dir,
    spawn,
    stop,
)
from tests.fakes.callback_receiver import CallbackReceiver

DATABASE = "approvals_bench_decisions"
BASE_URL = "http://approvals.bench"
TIMEOUT = 15.0  # per request: a lost callback fails the run instead of hanging it
WARM_UP = 6  # unmeasured decisions / trivial jobs first: each worker's first job imports more


def _settings(dsn: str, redis_url: str, data_dir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=dsn,
        redis_url=redis_url,
        data_dir=data_dir,
        public_url=BASE_URL,
        callback_allow_addresses="127.0.0.1",
        submit_rate_per_minute=100_000,
        submit_burst=100_000,
        log_level="warning",
    )


def _worker_env(dsn: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    return child_env(
        {
            "APPROVALS_DATABASE_URL": dsn,
            "APPROVALS_REDIS_URL": redis_url,
            "APPROVALS_DATA_DIR": str(data_dir),
            "APPROVALS_PUBLIC_URL": BASE_URL,
            "APPROVALS_CALLBACK_ALLOW_ADDRESSES": "127.0.0.1",
            "APPROVALS_LOG_LEVEL": "warning",
        }
    )


async def _arrival(receiver: CallbackReceiver, action_id: str, since: int) -> float:
    deadline = time.perf_counter() + TIMEOUT
    while time.perf_counter() < deadline:
        for delivery in receiver.deliveries[since:]:
            if delivery.json["action_id"] == action_id and delivery.signature_ok:
                return delivery.received_at
        await asyncio.sleep(0.0005)
    raise TimeoutError(f"no signed callback for {action_id} within {TIMEOUT} s")


async def _drain(runtime: Runtime, seconds: float = 60.0) -> None:
    """Wait until every outbox row is done (the submits' card jobs), so they do not compete."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        async with runtime.db() as session:
            undone = await session.execute(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.done_at.is_(None))
            )
            if undone.scalar_one() == 0:
                return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the outbox did not drain within {seconds} s")


@dataclass
class Sample:
    """One decision's clock readings: `perf_counter` seconds, plus the wall clock at commit
    (to place RQ's own job timestamps, which are wall-clock UTC, on the same axis)."""

    action_id: str
    sent: float  # just before POST /decisions
    answered: float  # the API's 200 is in
    committed: float  # the in-process notifier fired: `Runtime.committed` right after COMMIT
    committed_wall: float
    received: float  # the receiver has the signed callback
    stages: dict[str, float] = field(default_factory=dict)  # filled in by `breakdown`


async def _committed_at(event: asyncio.Event) -> tuple[float, float]:
    await event.wait()
    return time.perf_counter(), time.time()


async def measure_decisions(settings: Settings, receiver: CallbackReceiver, n: int) -> list[Sample]:
    """One sample per decision (warm-ups dropped), with its path broken down into stages."""
    runtime = Runtime(settings)
    runtime.start_background()
    try:
        keys = {}
        for name, scope, identity, hosts in [
            ("etl", Scope.SUBMIT, "svc:etl", ["127.0.0.1"]),
            ("bob", Scope.REVIEW, "bob@example.org", []),  # in the demo policy's dba-oncall
        ]:
            created = await clients_service.create(
                runtime.db, name=name, scopes=[scope], identity=identity, callback_hosts=hosts
            )
            keys[name] = created.api_key
            if name == "etl":
                receiver.secret = created.webhook_secret
        app = create_app(settings, runtime=runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            actions = []
            for i in range(n + WARM_UP):
                body = {
                    "action": "sql.execute",
                    "resource": "db.prod.encounters",
                    "environment": "staging",
                    "justification": f"bench {i}",
                    "callback_url": receiver.url,
                }
                made = await http.post("/v1/actions", json=body, headers=_auth(keys["etl"]))
                made.raise_for_status()
                actions.append(made.json()["id"])
            await _drain(runtime)
            samples = []
            for action_id in actions:
                since = len(receiver.deliveries)
                # Subscribed before the decision: the decision's own commit fires it first.
                with runtime.notifier.subscribe(action_id) as changed:
                    commit = asyncio.create_task(_committed_at(changed))
                    started = time.perf_counter()
                    decided = await http.post(
                        f"/v1/actions/{action_id}/decisions",
                        json={"verdict": "approve"},
                        headers=_auth(keys["bob"]),
                    )
                    answered = time.perf_counter()
                    decided.raise_for_status()
                    committed, committed_wall = await asyncio.wait_for(commit, TIMEOUT)
                received = await _arrival(receiver, action_id, since)
                samples.append(
                    Sample(action_id, started, answered, committed, committed_wall, received)
                )
            samples = samples[WARM_UP:]
            await breakdown(runtime, settings.redis_url or "", samples)
        return samples
    finally:
        await runtime.close()


async def breakdown(runtime: Runtime, redis_url: str, samples: list[Sample]) -> None:
    """Place each hop on the decision's clock, from RQ's own job timestamps (`enqueued_at`,
    `started_at`, `ended_at`; job ids are `outbox-<row>-<attempt>`) and the outbox rows."""
    async with runtime.db() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.target_id).where(
                    OutboxMessage.kind.in_(("release", "callbacks.deliver"))
                )
            )
        ).all()
        owner = dict(
            (await session.execute(select(CallbackDelivery.id, CallbackDelivery.action_id))).all()
        )
    jobs: dict[tuple[str, str], str] = {}
    for row_id, kind, target in rows:
        action_id = target if kind == "release" else owner.get(target, "")
        jobs[(action_id, kind)] = f"outbox-{row_id}-1"
    connection = Redis.from_url(redis_url)

    def stamp(value: datetime | None, sample: Sample) -> float | None:
        if value is None:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (aware.timestamp() - sample.committed_wall) * 1000

    for sample in samples:
        for kind, label in (("release", "release"), ("callbacks.deliver", "callback")):
            job_id = jobs.get((sample.action_id, kind))
            if job_id is None:
                continue
            try:
                job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
            except Exception:  # noqa: S112 (no such job: delivered inline, or a retry's id)
                continue
            for point, value in (
                ("enqueued", job.enqueued_at),
                ("started", job.started_at),
                ("ended", job.ended_at),
            ):
                at = stamp(value, sample)
                if at is not None:
                    sample.stages[f"{label} {point}"] = at
        sample.stages["callback received"] = (sample.received - sample.committed) * 1000


def report_stages(samples: list[Sample]) -> None:
    """Median time of each point after the decision's commit, and the step from the last."""
    order = [
        "release enqueued",
        "release started",
        "callback enqueued",
        "callback started",
        "callback ended",
        "release ended",
        "callback received",
    ]
    print("where the time goes (median ms after the decision's COMMIT; Δ from the line above):")
    previous = 0.0
    for name in sorted(
        {k for s in samples for k in s.stages}, key=lambda k: order.index(k) if k in order else 99
    ):
        values = [s.stages[name] for s in samples if name in s.stages]
        median = percentile(values, 50)
        print(f"  {name:<20} {median:7.1f} ms   Δ {median - previous:6.1f} ms   (n={len(values)})")
        previous = median


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def measure_rq(redis_url: str, n: int) -> list[float]:
    """Enqueue → start of a trivial job, RQ's own timestamps, one job in flight at a time."""
    connection = Redis.from_url(redis_url)
    queue = Queue("release", connection=connection, serializer=JSONSerializer)
    latencies = []
    for _ in range(n + WARM_UP):
        job = queue.enqueue_call("os.path.basename", args=(str(uuid.uuid4()),), result_ttl=60)
        deadline = time.monotonic() + TIMEOUT
        while True:
            fetched = Job.fetch(job.id, connection=connection, serializer=JSONSerializer)
            if fetched.started_at is not None and fetched.enqueued_at is not None:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"trivial job {job.id} did not start within {TIMEOUT} s")
            time.sleep(0.001)
        latencies.append((fetched.started_at - fetched.enqueued_at).total_seconds())
        time.sleep(0.005)  # the worker goes back to waiting, as it would between decisions
    return latencies[WARM_UP:]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    args = parser.parse_args()
    print(machine())
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    dsn = fresh_database(DATABASE)
    workers = []
    try:
        with scratch_dir() as cwd, CallbackReceiver() as receiver:
            settings = _settings(dsn, args.redis_url, cwd / "data")
            configure_logging(settings)
            Keyring.load_or_create(settings.keys_dir)  # before the workers race to make one
            env = _worker_env(dsn, args.redis_url, cwd / "data")
            workers = [
                spawn([PYTHON, "-m", "approvals", "worker"], env=env, cwd=cwd, log=cwd / "w.log")
                for _ in range(args.workers)
            ]
            time.sleep(3.0)  # imports and RQ registration, outside the measured loops
            rq = measure_rq(args.redis_url, args.requests)
            samples = asyncio.run(measure_decisions(settings, receiver, args.requests))
            duplicates = len(receiver.deliveries) - args.requests - WARM_UP
    finally:
        for process in workers:
            stop(process)
        redis.flushdb()
        drop_database(DATABASE)
    sent_to_received = [s.received - s.sent for s in samples]
    committed_to_received = [s.received - s.committed for s in samples]
    print(f"{args.requests} decisions, {args.workers} worker process(es)")
    print(f"RQ trivial job, enqueue → start:             {latency_ms(rq)}")
    answered = [s.answered - s.sent for s in samples]
    committed = [s.committed - s.sent for s in samples]
    print(f"decision request sent → API answered (200):  {latency_ms(answered)}")
    print(f"decision request sent → decision committed:  {latency_ms(committed)}")
    print(f"decision request sent → callback received:   {latency_ms(sent_to_received)}")
    print(f"decision committed → callback received:      {latency_ms(committed_to_received)}")
    print(f"extra deliveries beyond one per request: {duplicates}")
    report_stages(samples)
    base = percentile(rq, 50)
    print(
        f"ratio of p50s to RQ's own (goal ≤ 3x): request sent → received "
        f"{percentile(sent_to_received, 50) / base:.1f}x, committed → received "
        f"{percentile(committed_to_received, 50) / base:.1f}x"
    )


if __name__ == "__main__":
    main()
