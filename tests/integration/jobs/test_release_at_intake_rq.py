"""An auto-approved submit commits its token, then its process never hands the release job over
(Redis is down: the state a crash right after the commit leaves). The retry, by a real
`approvals worker` through real Redis once it is back, finishes the release with that token.

Real PostgreSQL, a private redis-server, a loopback callback receiver.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import select

from approvals.audit import sequencer
from approvals.audit import service as audit_service
from approvals.release.models import ReleaseToken
from approvals.runtime import Runtime
from tests.builders import ApiClient
from tests.fakes.callback_receiver import CallbackReceiver
from tests.integration.jobs.worker_processes import (
    api_over,
    free_port,
    queue_away,
    start_redis,
    start_worker,
)

LEASE_SECONDS = 5  # the shortest lease the settings allow


@contextlib.asynccontextmanager
async def _redis_down_at_intake(
    postgres_url: str, tmp_path: Path, receiver: CallbackReceiver
) -> AsyncIterator[tuple[Runtime, ApiClient, str]]:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there yet
    async with (
        queue_away(postgres_url, tmp_path, url, job_lease_seconds=LEASE_SECONDS) as runtime,
        api_over(runtime, receiver) as (api, _),
    ):
        yield runtime, api, url


def _retry_with_a_worker(redis_url: str, postgres_url: str, tmp_path: Path) -> None:
    """Redis comes back; once the failed hand-over's lease lapses, a worker's reconciler tick
    offers the release job again and the worker runs it (and the callback it owes)."""
    server = start_redis(int(redis_url.rsplit(":", 1)[1].split("/")[0]))
    try:
        time.sleep(LEASE_SECONDS + 0.2)
        log = tmp_path / "worker.log"
        settings = {
            "APPROVALS_DATABASE_URL": postgres_url,
            "APPROVALS_REDIS_URL": redis_url,
            "APPROVALS_DATA_DIR": str(tmp_path / "data"),  # the test's keys
            "APPROVALS_PUBLIC_URL": "http://approvals.test",
            "APPROVALS_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "APPROVALS_CALLBACK_ALLOW_ADDRESSES": "127.0.0.1",
        }
        for _ in range(2):  # the release job, then the callback it relays
            worker = start_worker(settings, cwd=tmp_path, log=log, burst=True)
            assert worker.wait(120) == 0, log.read_text(errors="replace")[-3000:]
    finally:
        server.terminate()
        server.wait(10)


async def _tokens(runtime: Runtime) -> list[ReleaseToken]:
    async with runtime.db() as session:
        return list((await session.execute(select(ReleaseToken))).scalars())


async def _trail(runtime: Runtime, action_id: str) -> tuple[list[str], object]:
    await sequencer.seal_all(runtime.db)
    async with runtime.db() as session:
        kinds = [e.event_type for e in await audit_service.events_for(session, action_id)]
        return kinds, await audit_service.verify_all(session)


async def test_the_retry_after_a_crash_before_the_job_releases_with_the_same_token(
    postgres_url: str, tmp_path: Path
) -> None:
    with CallbackReceiver() as receiver:
        async with _redis_down_at_intake(postgres_url, tmp_path, receiver) as (runtime, api, url):
            created = await api.create(environment="dev", callback_url=receiver.url)
            assert created["status"] == "auto_approved"
            token = created["release_token"]
            assert token
            _retry_with_a_worker(url, postgres_url, tmp_path)
            state = (await api.get("etl", created["id"])).json()
            kinds, broken = await _trail(runtime, created["id"])
            (row,) = await _tokens(runtime)
        deliveries = list(receiver.deliveries)
    assert state["status"] == "released"
    assert state["release_token"] == token
    assert row.token == token
    assert [d.json["release_token"] for d in deliveries] == [token]
    assert deliveries[0].signature_ok
    assert kinds.count("released") == 1
    assert broken is None


async def test_an_agent_that_ran_before_the_retry_is_recorded_once(
    postgres_url: str, tmp_path: Path
) -> None:
    """The agent acts on its 201 and reports while the release job has not run yet: the report
    finishes the release; the job, when it finally runs, finds nothing left to do."""
    with CallbackReceiver() as receiver:
        async with _redis_down_at_intake(postgres_url, tmp_path, receiver) as (runtime, api, url):
            created = await api.create(environment="dev", callback_url=receiver.url)
            report = {"token": created["release_token"], "outcome": "succeeded"}
            done = await api.http.post(
                f"/v1/actions/{created['id']}/executed", json=report, headers=api.auth("etl")
            )
            assert done.status_code == 200, done.text
            _retry_with_a_worker(url, postgres_url, tmp_path)
            state = (await api.get("etl", created["id"])).json()
            kinds, broken = await _trail(runtime, created["id"])
            tokens = await _tokens(runtime)
        deliveries = list(receiver.deliveries)
    assert state["status"] == "executed"
    assert len(tokens) == 1
    assert [d.json["release_token"] for d in deliveries] == [created["release_token"]]
    assert (kinds.count("released"), kinds.count("executed")) == (1, 1)
    assert broken is None


async def test_wait_answers_at_once_while_the_release_job_has_not_run(
    postgres_url: str, tmp_path: Path
) -> None:
    with CallbackReceiver() as receiver:
        async with _redis_down_at_intake(postgres_url, tmp_path, receiver) as (_, api, _url):
            created = await api.create(environment="dev")
            started = time.monotonic()
            waited = await api.http.get(
                f"/v1/actions/{created['id']}/wait",
                params={"timeout": 30},
                headers=api.auth("etl"),
            )
            elapsed = time.monotonic() - started
    assert waited.status_code == 200
    assert waited.json()["status"] == "auto_approved"  # the job has not run: no worker
    assert waited.json()["release_token"] == created["release_token"]
    assert elapsed < 15  # not held until the 30 s timeout
