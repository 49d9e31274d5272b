"""Process-wide fixtures: databases built by the migrations, a Runtime per test, an API client.

Integration tests run on both backends. Each database is created once per xdist worker by
running the Alembic migrations; tables are emptied after each test. (Rolled-back outer
transactions would hide exactly what the concurrency tests must see: real commits racing.)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from approvals import migrate
from approvals.app import create_app
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.config import Settings
from approvals.runtime import Runtime
from tests.builders import ApiClient

PG_URL = os.environ.get(
    "APPROVALS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TABLES = [
    "release_tokens",
    "callback_deliveries",
    "votes",
    "requester_notices",
    "card_messages",
    "action_requests",
    "outbox",
    "audit_events",
    "web_sessions",
    "sign_in_attempts",
    "passkeys",
    "clients",
    "teams_conversations",
]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A database of this worker's own on the test server, migrated to head."""
    server = make_url(PG_URL)
    # Per checkout and per xdist worker: two clones testing on one server never collide.
    checkout = hashlib.sha256(str(Path(__file__).resolve()).encode()).hexdigest()[:8]
    name = f"approvals_test_{checkout}_{_worker()}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "approvals.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    name = "postgres_url" if request.param == "postgres" else "sqlite_url"
    return str(request.getfixturevalue(name))


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "public_url": "http://approvals.test",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


async def _empty(runtime: Runtime) -> None:
    async with runtime.engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # as superuser: past the append-only trigger
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in TABLES:
            await connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (fixed names)
        await connection.execute(
            text("UPDATE audit_head SET last_seq = 0, last_hash = :h WHERE id = 1"),
            {"h": "0" * 64},
        )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime(settings)
    await _empty(rt)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime.settings, runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://approvals.test") as client:
        yield client


@pytest.fixture
async def api(runtime: Runtime, http: httpx.AsyncClient) -> ApiClient:
    """Keys for a submitter, two reviewers in dba-oncall, one outsider and an admin."""
    keys = {}
    for name, scopes, identity in [
        ("etl", [Scope.SUBMIT], "svc:etl@example.org"),
        ("bob", [Scope.REVIEW], "bob@example.org"),
        ("carol", [Scope.REVIEW], "carol@example.org"),
        ("mallory", [Scope.REVIEW], "mallory@example.org"),
        ("dana", [Scope.REVIEW], "dana@example.org"),
        ("auditor", [Scope.AUDIT], "audit@example.org"),
        ("admin", [Scope.ADMIN], "admin@approvals.local"),
    ]:
        created = await clients_service.create(
            runtime.db, name=name, scopes=scopes, identity=identity
        )
        keys[name] = created.api_key
    return ApiClient(http, keys, runtime)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's .env must not leak into tests: run each test from an empty folder."""
    monkeypatch.chdir(tmp_path)
