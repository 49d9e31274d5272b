"""Audit test helpers: a little real history, raw-SQL tampering, and the CLI run in a thread."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from approvals.audit import service as audit_service
from approvals.audit.chain import event_body, link
from approvals.cli import app as cli_app
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle


async def make_history(api: ApiClient) -> list[str]:
    """Three requests: one approved, one denied with a reason, one pending (≈ 12 events)."""
    ids = []
    for verdict in ("approve", "deny", None):
        created = await api.create()
        ids.append(created["id"])
        if verdict:
            response = await api.decide("bob", created["id"], verdict, "not tonight")
            assert response.status_code == 200, response.text
    await settle(api.runtime)  # release / rejection jobs append their events too
    return ids


async def sql(runtime: Runtime, statement: str, **params: Any) -> None:
    """Change the database behind the service's back, as an administrator could.

    On PostgreSQL that takes a superuser switching off the append-only trigger.
    """
    async with runtime.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(text(statement), params)


async def rewrite_history(runtime: Runtime, forged_seq: int = 2) -> int:
    """An administrator edits one event and re-hashes everything after it, head included.

    The chain alone then verifies; only a checkpoint signed earlier can tell. Returns the head.
    """
    async with runtime.db() as session:
        rows = [row async for batch in audit_service.batches(session) for row in batch]
    prev = rows[0].hash
    for row in rows[1:]:
        actor = "forger@example.org" if row.seq == forged_seq else row.actor
        digest = link(
            prev,
            event_body(row.seq, row.event_type, row.occurred_at, actor, row.action_id, row.payload),
        )
        await sql(
            runtime,
            "UPDATE audit_events SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s",
            a=actor,
            p=prev,
            h=digest,
            s=row.seq,
        )
        prev = digest
    await sql(runtime, "UPDATE audit_head SET last_hash = :h", h=prev)
    return rows[-1].seq


async def head_seq(runtime: Runtime) -> int:
    async with runtime.engine.connect() as connection:
        return int((await connection.execute(text("SELECT last_seq FROM audit_head"))).scalar_one())


@pytest.fixture
def cli(runtime: Runtime, monkeypatch: pytest.MonkeyPatch):
    """Run `approvals ...` against the test database (in a thread: it runs its own loop)."""
    monkeypatch.setenv("APPROVALS_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("APPROVALS_DATA_DIR", str(runtime.settings.data_dir))

    async def run(*args: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args))

    return run


def json_out(result: Result) -> dict[str, Any]:
    return json.loads(result.stdout)  # type: ignore[no-any-return]
