"""A worker outlives a Redis outage at any moment, and resumes on its own when Redis is back.

RQ retries a lost Redis only while it waits for a job; here Redis goes away while a job is
finishing (the callback receiver holds the delivery open until Redis is down), which is where
RQ itself gives up. Real PostgreSQL, a redis-server of the test's own stopped and started again
on the same port, a real `approvals worker` process with its probe port.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from approvals.runtime import Runtime
from tests.conftest import _empty, make_settings
from tests.fakes.callback_receiver import CallbackReceiver
from tests.integration.jobs.worker_processes import (
    api_over,
    free_port,
    kill,
    start_redis,
    start_worker,
    wait_until,
)


def _probe(url: str) -> int:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return 0  # not answering at all: the process (or its probe server) is gone


async def test_a_worker_outlives_redis_going_away_mid_job_and_resumes_when_it_returns(
    postgres_url: str, tmp_path: Path
) -> None:
    redis_port, probe_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    settings = make_settings(
        postgres_url, tmp_path, redis_url=redis_url, callback_allow_addresses="127.0.0.1"
    )
    runtime = Runtime(settings)
    await _empty(runtime)
    log, readyz = tmp_path / "worker.log", f"http://127.0.0.1:{probe_port}/readyz"
    redis_server: subprocess.Popen[bytes] = start_redis(redis_port)
    receiver = CallbackReceiver(hang_first=True).__enter__()
    worker = start_worker(
        {
            "APPROVALS_DATABASE_URL": postgres_url,
            "APPROVALS_REDIS_URL": redis_url,
            "APPROVALS_DATA_DIR": str(settings.data_dir),
            "APPROVALS_PUBLIC_URL": "http://approvals.test",
            "APPROVALS_CALLBACK_ALLOW_ADDRESSES": "127.0.0.1",
            "APPROVALS_RECONCILE_INTERVAL_SECONDS": "0.5",
            "APPROVALS_WORKER_HEALTH_PORT": str(probe_port),
        },
        cwd=tmp_path,
        log=log,
    )
    try:
        async with api_over(runtime, receiver) as (api, _):
            wait_until(lambda: _probe(readyz) == 200, 60, "the worker being ready", log)
            first = await api.create(callback_url=receiver.url)
            assert (await api.decide("bob", first["id"], "approve")).status_code == 200
            wait_until(lambda: bool(receiver.deliveries), 60, "the release job's callback", log)

            redis_server.terminate()
            redis_server.wait(10)
            receiver.release()  # the job ends now, and RQ cannot record that it did
            time.sleep(4)
            assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
            assert _probe(readyz) == 503

            redis_server = start_redis(redis_port)
            wait_until(lambda: _probe(readyz) == 200, 60, "the worker ready again", log)
            second = await api.create()
            assert (await api.decide("bob", second["id"], "approve")).status_code == 200

            async def released() -> bool:
                return bool((await api.get("etl", second["id"])).json()["status"] == "released")

            deadline = time.monotonic() + 60
            while not await released():
                if time.monotonic() > deadline:
                    pytest.fail("the worker did not resume: " + log.read_text()[-3000:])
                time.sleep(0.2)
            first_state = (await api.get("etl", first["id"])).json()["status"]
    finally:
        receiver.__exit__()
        kill(worker)
        redis_server.terminate()
        redis_server.wait(10)
        await runtime.close()

    assert first_state == "released"
    assert "worker.loop_restarting" in log.read_text()
