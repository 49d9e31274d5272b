"""Jobs through real Redis and a real `approvals worker` process (RQ), on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from approvals.actions import service as actions_service
from approvals.actions.schemas import ActionCreate
from approvals.clients import service as clients_service
from approvals.clients.models import Client
from approvals.clients.schemas import Scope
from approvals.jobs.queue import RQQueue
from approvals.outbox.models import OutboxMessage
from approvals.runtime import Runtime
from tests.conftest import _empty, make_settings
from tests.integration.jobs.worker_processes import ROOT, free_port, start_redis


def _worker(database_url: str, redis_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # The code under test, not whichever checkout the shared virtualenv was installed
        # from: tests run from an empty folder, so `-m approvals` would find the latter.
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
        "APPROVALS_DATABASE_URL": database_url,
        "APPROVALS_REDIS_URL": redis_url,
        "APPROVALS_DATA_DIR": str(tmp_path / "worker"),
    }
    return subprocess.run(
        [sys.executable, "-m", "approvals", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _outbox(runtime: Runtime) -> list[OutboxMessage]:
    async with runtime.db() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.kind)
        return list((await session.execute(query)).scalars())


async def _submit(runtime: Runtime) -> str:
    created = await clients_service.create(
        runtime.db, name="etl", scopes=[Scope.SUBMIT], identity="svc:etl"
    )
    async with runtime.db() as session:
        client = await session.get(Client, created.client_id)
    assert client is not None
    # Auto-approved, so it owes a release job (web-only, a pending request owes no job).
    body = ActionCreate(action="sql.execute", resource="db.prod", environment="dev")
    return (await actions_service.submit(runtime, client, body)).action.id


@pytest.fixture
def shared_redis() -> Iterator[str]:
    url = "redis://127.0.0.1:6379/14"
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


async def test_worker_process_runs_the_relayed_job_once(
    postgres_url: str, tmp_path: Path, shared_redis: str
) -> None:
    runtime = Runtime(make_settings(postgres_url, tmp_path, redis_url=shared_redis))
    await _empty(runtime)
    try:
        assert isinstance(runtime.queue, RQQueue)
        await _submit(runtime)
        queued = redis.Redis.from_url(shared_redis).llen("rq:queue:release")
        assert queued == 1
        done = _worker(postgres_url, shared_redis, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        rows = await _outbox(runtime)
        # Handed to RQ by the process that wrote them (attempt 0): never claimed by a relay.
        assert [(r.kind, r.done_at is not None, r.attempts) for r in rows] == [("release", True, 0)]
        again = _worker(postgres_url, shared_redis, tmp_path)
        assert again.returncode == 0
        assert "nothing to do" in again.stdout
    finally:
        await runtime.close()


async def test_intake_answers_while_redis_is_down_and_work_runs_once_it_is_back(
    postgres_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    runtime = Runtime(make_settings(postgres_url, tmp_path, redis_url=url, job_lease_seconds=5))
    await _empty(runtime)
    server: subprocess.Popen[bytes] | None = None
    try:
        action_id = await _submit(runtime)  # Redis is not running: the relay fails quietly
        rows = await _outbox(runtime)
        assert [(r.kind, r.done_at) for r in rows] == [("release", None)]
        assert rows[0].target_id == action_id
        server = start_redis(port)
        time.sleep(5.1)  # the failed relay's lease lapses; the worker's tick re-offers the row
        done = _worker(postgres_url, url, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        rows = await _outbox(runtime)
        assert all(row.done_at is not None for row in rows)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        await runtime.close()
