"""A busy, locked or unreachable database is a 503 with Retry-After, never a 500; /wait holds
no connection while it waits, so a one-connection pool still serves a crowd of waiters."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from approvals import migrate
from approvals.app import create_app
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.clients.service import KEY_PREFIX
from approvals.jobs.queue import InProcessQueue
from approvals.kit.db import PING_AFTER_IDLE_SECONDS
from approvals.runtime import Runtime
from tests.builders import action_body
from tests.conftest import _empty, make_settings

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def serving(
    database_url: str, tmp_path: Path, **settings: object
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime, dict[str, str]]]:
    runtime = Runtime(make_settings(database_url, tmp_path, **settings))
    await _empty(runtime)
    keys = {}
    for name, scopes in [("etl", [Scope.SUBMIT]), ("bob", [Scope.REVIEW])]:
        created = await clients_service.create(
            runtime.db, name=name, scopes=scopes, identity=f"{name}@example.org"
        )
        keys[name] = f"Bearer {created.api_key}"
    app = create_app(runtime.settings, runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://approvals.test") as http:
            yield http, runtime, keys
    finally:
        await runtime.close()


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["error"] == "database_busy"
    assert "retry" in body["detail"]


class TestWaitingOnASmallPool:
    async def test_a_crowd_of_waiters_is_answered_200_or_503_never_500(
        self, database_url: str, tmp_path: Path
    ) -> None:
        async with serving(
            database_url,
            tmp_path,
            database_pool_size=1,
            database_pool_overflow=0,
            database_pool_timeout_seconds=0.05,
        ) as (http, _, keys):
            created = await http.post(
                "/v1/actions", json=action_body(), headers={"Authorization": keys["etl"]}
            )
            action_id = created.json()["id"]
            responses = await asyncio.gather(
                *(
                    http.get(
                        f"/v1/actions/{action_id}/wait",
                        params={"timeout": 0.5},
                        headers={"Authorization": keys["etl"]},
                    )
                    for _ in range(300)
                )
            )
        statuses = {r.status_code for r in responses}
        assert statuses <= {200, 503}, statuses
        # The pool of one connection was exhausted at least once; each such answer says when
        # to retry, and every other waiter got the request's state.
        assert 503 in statuses
        for response in responses:
            if response.status_code == 503:
                assert_retry_later(response)
            else:
                assert response.json()["status"] == "pending"

    async def test_waiters_hold_no_connection_so_a_decision_gets_through(
        self, database_url: str, tmp_path: Path
    ) -> None:
        async with serving(
            database_url,
            tmp_path,
            database_pool_size=1,
            database_pool_overflow=0,
            database_pool_timeout_seconds=5,
        ) as (http, runtime, keys):
            created = await http.post(
                "/v1/actions", json=action_body(), headers={"Authorization": keys["etl"]}
            )
            action_id = created.json()["id"]
            waiters = [
                asyncio.create_task(
                    http.get(
                        f"/v1/actions/{action_id}/wait",
                        params={"timeout": 30},
                        headers={"Authorization": keys["etl"]},
                    )
                )
                for _ in range(40)
            ]
            async with asyncio.timeout(10):
                while runtime.notifier.waiting < 40:
                    await asyncio.sleep(0.01)
            decided = await http.post(
                f"/v1/actions/{action_id}/decisions",
                json={"verdict": "approve"},
                headers={"Authorization": keys["bob"]},
            )
            assert decided.status_code == 200, decided.text
            async with asyncio.timeout(20):
                answers = await asyncio.gather(*waiters)
        assert {a.status_code for a in answers} == {200}
        assert {a.json()["verdict"] for a in answers} == {"approved"}


class TestLocks:
    async def test_a_held_sqlite_write_lock_is_503_then_the_submit_goes_through(
        self, sqlite_url: str, tmp_path: Path
    ) -> None:
        async with serving(sqlite_url, tmp_path, database_lock_timeout_seconds=0.2) as (
            http,
            _,
            keys,
        ):
            path = make_url(sqlite_url).database
            assert path is not None
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            try:
                locked = await http.post(
                    "/v1/actions", json=action_body(), headers={"Authorization": keys["etl"]}
                )
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            assert_retry_later(locked)
            assert "lock" in locked.json()["detail"]
            retried = await http.post(
                "/v1/actions", json=action_body(), headers={"Authorization": keys["etl"]}
            )
            assert retried.status_code == 201, retried.text

    async def test_a_postgresql_lock_timeout_is_503(
        self, postgres_url: str, tmp_path: Path
    ) -> None:
        async with serving(postgres_url, tmp_path, database_lock_timeout_seconds=0.2) as (
            http,
            _,
            keys,
        ):
            created = await http.post(
                "/v1/actions", json=action_body(), headers={"Authorization": keys["etl"]}
            )
            action_id = created.json()["id"]
            plain = make_url(postgres_url).set(drivername="postgresql")
            with psycopg.connect(plain.render_as_string(hide_password=False)) as holder:
                holder.execute("LOCK TABLE action_requests IN ACCESS EXCLUSIVE MODE")
                locked = await http.get(
                    f"/v1/actions/{action_id}", headers={"Authorization": keys["etl"]}
                )
                holder.rollback()
            assert_retry_later(locked)
            again = await http.get(
                f"/v1/actions/{action_id}", headers={"Authorization": keys["etl"]}
            )
            assert again.status_code == 200


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TestUnreachableDatabase:
    async def test_a_postgresql_server_that_is_down_is_503(self, tmp_path: Path) -> None:
        url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/approvals"
        runtime = Runtime(make_settings(url, tmp_path))
        app = create_app(runtime.settings, runtime=runtime)
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://approvals.test"
            ) as http:
                submitted = await http.post(
                    "/v1/actions",
                    json=action_body(),
                    headers={"Authorization": f"Bearer {KEY_PREFIX}{'x' * 43}"},
                )
                ready = await http.get("/readyz")
        finally:
            await runtime.close()
        assert_retry_later(submitted)
        assert "unavailable" in submitted.json()["detail"]
        assert "127.0.0.1" not in submitted.text
        assert ready.status_code == 503
        assert "Retry-After" in ready.headers


class ThrowawayPostgres:
    """A PostgreSQL server of this test's own on a free port, so it can be stopped and started
    again; the shared server on 5432 is never touched."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found and shutil.which("pg_ctl") is None:
            pytest.skip("pg_ctl is missing: apt-get install -y postgresql")
        self.bin = Path(found[-1]).parent if found else Path(str(shutil.which("pg_ctl"))).parent
        self.port = _closed_port()
        self.dir = Path(tempfile.mkdtemp(prefix="approvals-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / tool), *args], check=True, capture_output=True
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        # -l: the server must not inherit our pipes, or reading them never ends.
        log = str(self.dir / "server.log")
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


async def _submit_at_once(
    http: httpx.AsyncClient, headers: dict[str, str], count: int
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(http.post("/v1/actions", json=action_body(), headers=headers) for _ in range(count))
        )
    )


class TestPostgresRestart:
    async def test_submits_while_the_server_is_down_are_503_and_work_again_after(
        self, tmp_path: Path
    ) -> None:
        server = ThrowawayPostgres()
        try:
            server.start()
            await asyncio.to_thread(migrate.upgrade, server.url)
            async with serving(server.url, tmp_path) as (http, _, keys):
                headers = {"Authorization": keys["etl"]}
                before = await http.post("/v1/actions", json=action_body(), headers=headers)
                assert before.status_code == 201, before.text
                server.stop()
                during = await _submit_at_once(http, headers, 5)
                server.start()
                after = await http.post("/v1/actions", json=action_body(), headers=headers)
        finally:
            server.remove()
        for response in during:
            assert_retry_later(response)
        assert after.status_code == 201, after.text

    async def test_a_restart_between_requests_is_not_seen_by_the_next_one(
        self, tmp_path: Path
    ) -> None:
        """The pool's connections died with the server while idle, unnoticed by anyone: each is
        pinged before use (idle longer than PING_AFTER_IDLE_SECONDS) and replaced, so no
        request gets a 503."""
        server = ThrowawayPostgres()
        try:
            server.start()
            await asyncio.to_thread(migrate.upgrade, server.url)
            async with serving(server.url, tmp_path) as (http, runtime, keys):
                headers = {"Authorization": keys["etl"]}
                before = await _submit_at_once(http, headers, 4)
                assert isinstance(runtime.queue, InProcessQueue)
                await runtime.queue.drain()  # no job of theirs meets the restart
                server.stop()
                server.start()
                await asyncio.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
                after = await _submit_at_once(http, headers, 4)
        finally:
            server.remove()
        assert [r.status_code for r in before] == [201] * 4
        assert [r.status_code for r in after] == [201] * 4, [r.text for r in after]
