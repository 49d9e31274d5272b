"""A worker killed with SIGKILL while delivering a callback: the work still ends exactly once.

Real PostgreSQL, a Redis database of this test's own, real `approvals worker` processes (not
burst: the reconciler thread is what re-offers the work whose lease lapsed), and a loopback
receiver that hangs on the first delivery so the kill lands in the middle of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from approvals.audit import service as audit_service
from approvals.release.models import CallbackDelivery, ReleaseToken
from approvals.release.tokens import verify_release_token
from approvals.runtime import Runtime
from tests.conftest import _empty, make_settings
from tests.fakes.callback_receiver import CallbackReceiver
from tests.integration.jobs.worker_processes import api_over, kill, start_worker, wait_until

REDIS_URL = "redis://127.0.0.1:6379/11"  # this test's own database, flushed before and after
LEASE_SECONDS = 5
ROOT = Path(__file__).resolve().parents[3]  # this checkout, not whichever one pip installed


@pytest.fixture
def own_redis() -> Iterator[str]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    yield REDIS_URL
    redis.Redis.from_url(REDIS_URL).flushdb()


def _start_worker(database_url: str, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    settings = {
        "APPROVALS_DATABASE_URL": database_url,
        "APPROVALS_REDIS_URL": REDIS_URL,
        "APPROVALS_DATA_DIR": str(data_dir),  # the test's keys: tokens verify against its JWKS
        "APPROVALS_PUBLIC_URL": "http://approvals.test",
        "APPROVALS_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "APPROVALS_RECONCILE_INTERVAL_SECONDS": "0.5",
        "APPROVALS_CALLBACK_ALLOW_ADDRESSES": "127.0.0.1",
        "APPROVALS_CALLBACK_TIMEOUT_SECONDS": "60",  # the hang must outlast the kill, not time out
    }
    return start_worker(settings, cwd=data_dir.parent, log=log)


async def _delivery_states(runtime: Runtime) -> list[str]:
    async with runtime.db() as session:
        return list((await session.execute(select(CallbackDelivery.state))).scalars())


async def test_a_worker_killed_mid_callback_leaves_one_token_and_one_delivery(
    postgres_url: str, tmp_path: Path, own_redis: str
) -> None:
    settings = make_settings(
        postgres_url,
        tmp_path,
        redis_url=own_redis,
        job_lease_seconds=LEASE_SECONDS,
        callback_allow_addresses="127.0.0.1",
    )
    runtime = Runtime(settings)
    await _empty(runtime)
    log = tmp_path / "workers.log"
    workers: list[subprocess.Popen[bytes]] = []
    receiver = CallbackReceiver(hang_first=True).__enter__()
    try:
        async with api_over(runtime, receiver) as (api, etl_id):
            action = await api.create(callback_url=receiver.url)
            decided = await api.decide("bob", action["id"], "approve")
            assert decided.status_code == 200, decided.text

            workers.append(_start_worker(postgres_url, settings.data_dir, log))
            wait_until(lambda: len(receiver.deliveries) >= 1, 60, "the first delivery", log)
            assert workers[0].poll() is None  # still inside the hanging POST
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].wait(10)
            receiver.release()  # let the hung handler finish (its peer is gone)
            assert await _delivery_states(runtime) == ["pending"]  # the crash cut it short

            workers.append(_start_worker(postgres_url, settings.data_dir, log))
            deadline = time.monotonic() + 60
            while await _delivery_states(runtime) != ["delivered"]:
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(0.2)
            time.sleep(2 * LEASE_SECONDS)  # room for a late duplicate run to do harm
            state = (await api.get("etl", action["id"])).json()
            jwks = (await api.http.get("/v1/keys")).json()
        async with runtime.db() as session:
            minted = (
                await session.execute(select(func.count()).select_from(ReleaseToken))
            ).scalar_one()
            events = [e.event_type for e in await audit_service.events_for(session, action["id"])]
            broken = await audit_service.verify_all(session)
    finally:
        receiver.__exit__()
        for process in workers:
            kill(process)
        await runtime.close()

    assert minted == 1
    assert [(c["state"], c["last_status"]) for c in state["callbacks"]] == [("delivered", 200)]
    assert events.count("released") == 1
    assert events.count("callback_delivered") == 1
    assert "callback_failed" not in events
    assert broken is None  # the audit chain verifies
    assert len(receiver.deliveries) >= 2  # the cut-off attempt and the one that landed
    assert len({d.headers["X-Approvals-Delivery"] for d in receiver.deliveries}) == 1
    assert all(d.signature_ok for d in receiver.deliveries)
    token = receiver.deliveries[-1].json["release_token"]
    assert state["status"] == "released"
    assert state["release_token"] == token
    claims = verify_release_token(token, jwks, issuer="http://approvals.test", audience=etl_id)
    assert claims.action_id == action["id"]
