"""The worker process's own event loop and Runtime, and the callback delivered inside the
release job: real PostgreSQL, a redis-server of this module's own (a free port, so xdist
workers and other checkouts never share it), real `approvals worker` subprocesses.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from approvals.audit import service as audit_service
from approvals.outbox.models import OutboxMessage
from approvals.release.models import CallbackDelivery, ReleaseToken
from approvals.runtime import Runtime
from tests.conftest import _empty, make_settings
from tests.fakes.callback_receiver import CallbackReceiver
from tests.integration.jobs.worker_processes import (
    api_over,
    kill,
    private_redis,
    start_worker,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[3]  # this checkout, not whichever one pip installed
APP_NAME = "approvals-test-worker"  # tags the worker's PostgreSQL sessions in pg_stat_activity


@pytest.fixture
def redis_url() -> Iterator[str]:
    with private_redis() as url:
        yield url


def _worker(
    database_url: str, redis_url: str, data_dir: Path, log: Path, *, burst: bool
) -> subprocess.Popen[bytes]:
    tagged = make_url(database_url).update_query_dict({"application_name": APP_NAME})
    settings = {
        "APPROVALS_DATABASE_URL": tagged.render_as_string(hide_password=False),
        "APPROVALS_REDIS_URL": redis_url,
        "APPROVALS_DATA_DIR": str(data_dir),  # the test's keys
        "APPROVALS_PUBLIC_URL": "http://approvals.test",
        "APPROVALS_CALLBACK_ALLOW_ADDRESSES": "127.0.0.1",
        "APPROVALS_CALLBACK_TIMEOUT_SECONDS": "60",
        "APPROVALS_RECONCILE_INTERVAL_SECONDS": "0.5",
        "APPROVALS_LOG_LEVEL": "info",
    }
    return start_worker(settings, cwd=data_dir.parent, log=log, burst=burst)


async def _undone(runtime: Runtime) -> int:
    async with runtime.db() as session:
        query = (
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None))
        )
        return int((await session.execute(query)).scalar_one())


async def _outbox(runtime: Runtime, kind: str) -> list[OutboxMessage]:
    async with runtime.db() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == kind)
        return list((await session.execute(query)).scalars())


async def _worker_backends(runtime: Runtime) -> set[int]:
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": APP_NAME},
        )
        return {int(pid) for pid in rows.scalars()}


async def _settled(runtime: Runtime, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while await _undone(runtime):
        assert time.monotonic() < deadline, "the outbox did not drain"
        time.sleep(0.1)


async def test_the_callback_is_delivered_inside_the_release_job_once_under_duplicate_runs(
    postgres_url: str, tmp_path: Path, redis_url: str
) -> None:
    settings = make_settings(
        postgres_url, tmp_path, redis_url=redis_url, callback_allow_addresses="127.0.0.1"
    )
    runtime = Runtime(settings)
    await _empty(runtime)
    log = tmp_path / "workers.log"
    workers: list[subprocess.Popen[bytes]] = []
    receiver = CallbackReceiver().__enter__()
    try:
        async with api_over(runtime, receiver) as (api, _):
            action = await api.create(callback_url=receiver.url)
            assert (await api.decide("bob", action["id"], "approve")).status_code == 200
            (release_row,) = await _outbox(runtime, "release")
            # Handed to RQ by the deciding process after its commit, with no relay's claim.
            assert release_row.attempts == 0
            connection = redis.Redis.from_url(redis_url)
            relayed = {
                job.description: job.enqueued_at
                for job in Job.fetch_many(
                    [
                        f"outbox-{row.id}-0"
                        for kind in ("release", "cards.update", "notify.requester")
                        for row in await _outbox(runtime, kind)
                    ],
                    connection=connection,
                    serializer=JSONSerializer,
                )
                if job is not None
            }
            # The release (highest-priority queue) went to Redis first, not behind the others.
            assert min(relayed, key=lambda kind: relayed[kind]) == "release", relayed
            # The same release offered again, as a relay does when a lease lapses: two RQ jobs
            # for one release, run by two workers at once.
            await runtime.queue.enqueue("release", release_row.id, 1)
            workers = [
                _worker(postgres_url, redis_url, settings.data_dir, log, burst=True)
                for _ in range(2)
            ]
            for process in workers:
                assert process.wait(120) == 0, log.read_text(errors="replace")[-3000:]
            state = (await api.get("etl", action["id"])).json()
        async with runtime.db() as session:
            minted = (
                await session.execute(select(func.count()).select_from(ReleaseToken))
            ).scalar_one()
            events = [e.event_type for e in await audit_service.events_for(session, action["id"])]
            deliveries = list((await session.execute(select(CallbackDelivery))).scalars())
        (callback_row,) = await _outbox(runtime, "callbacks.deliver")
        release_jobs = [
            Job.fetch(
                f"outbox-{release_row.id}-{n}", connection=connection, serializer=JSONSerializer
            )
            for n in (0, 1)
        ]
        undone = await _undone(runtime)
    finally:
        receiver.__exit__()
        for process in workers:
            kill(process)
        await runtime.close()

    assert [job.get_status() for job in release_jobs] == ["finished", "finished"]
    assert minted == 1
    assert len(receiver.deliveries) == 1
    assert receiver.deliveries[0].signature_ok
    assert [(d.state, d.attempts, d.last_status) for d in deliveries] == [("delivered", 1, 200)]
    assert receiver.deliveries[0].headers["X-Approvals-Delivery"] == deliveries[0].id
    # Delivered by the release job itself: the row was never offered to the queue.
    assert callback_row.attempts == 0
    assert callback_row.done_at is not None
    assert undone == 0
    assert events.count("released") == 1
    assert events.count("callback_delivered") == 1
    assert [c["state"] for c in state["callbacks"]] == ["delivered"]


async def test_a_worker_keeps_one_runtime_across_jobs_and_closes_it_after_sigterm(
    postgres_url: str, tmp_path: Path, redis_url: str
) -> None:
    settings = make_settings(
        postgres_url, tmp_path, redis_url=redis_url, callback_allow_addresses="127.0.0.1"
    )
    runtime = Runtime(settings)
    await _empty(runtime)
    log = tmp_path / "worker.log"
    worker: subprocess.Popen[bytes] | None = None
    receiver = CallbackReceiver(hang_first=True).__enter__()
    try:
        async with api_over(runtime, receiver) as (api, _):
            worker = _worker(postgres_url, redis_url, settings.data_dir, log, burst=False)
            # Auto-approved: each owes the worker a release job (web-only, a pending request
            # owes it none: no card to post, no platform to notify).
            for _ in range(3):
                await api.create(environment="dev")
            await _settled(runtime)
            first = await _worker_backends(runtime)
            for _ in range(3):
                await api.create(environment="dev")
            await _settled(runtime)
            second = await _worker_backends(runtime)

            # SIGTERM in the middle of a job: the job finishes on the same loop, then the
            # worker closes its Runtime and exits cleanly.
            action = await api.create(callback_url=receiver.url)
            await _settled(runtime)
            assert (await api.decide("bob", action["id"], "approve")).status_code == 200
            wait_until(lambda: len(receiver.deliveries) == 1, 60, "the callback", log)
            worker.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert worker.poll() is None  # still inside the callback's POST
            receiver.release()  # the receiver answers 503: the job records a retry and ends
            code = worker.wait(60)
            async with runtime.db() as session:
                (delivery,) = (await session.execute(select(CallbackDelivery))).scalars()
            after_exit = await _worker_backends(runtime)
    finally:
        receiver.__exit__()
        if worker is not None:
            kill(worker)
        await runtime.close()

    output = log.read_text(errors="replace")
    # The reconciler's connection and the job Runtime's: both still open, and no new ones
    # for the second batch of jobs (a Runtime per job opened and closed one per job).
    assert len(first) >= 2, output[-3000:]
    assert second == first
    assert code == 0, output[-3000:]
    assert output.count("worker.runtime_started") == 1
    assert output.count("worker.runtime_closed") == 1
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 503)
    assert after_exit == set()
