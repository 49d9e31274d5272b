"""`approvals policy suggest` reads real decision history and proposes narrow rules only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from approvals import migrate
from approvals.actions import decisions
from approvals.actions import service as actions_service
from approvals.actions.schemas import ActionCreate
from approvals.cli import app
from approvals.clients import service as clients_service
from approvals.clients.models import Client
from approvals.clients.schemas import Scope
from approvals.runtime import Runtime
from tests.conftest import make_settings


async def _history(runtime: Runtime) -> None:
    created = await clients_service.create(
        runtime.db, name="etl", scopes=[Scope.SUBMIT], identity="svc:etl"
    )
    async with runtime.db() as session:
        client = await session.get(Client, created.client_id)
    assert client is not None

    async def decided(
        resource: str, who: str, verdict: str = "approve", sql: str = "SELECT count(*) FROM visits"
    ) -> None:
        body = ActionCreate(
            action="sql.execute", resource=resource, environment="staging", params={"sql": sql}
        )
        action = (await actions_service.submit(runtime, client, body)).action
        await decisions.decide(
            runtime,
            action.id,
            approver=who,
            verdict=verdict,
            reason="no" if verdict == "deny" else None,
            platform="api",
        )

    for day in range(1, 7):  # the same narrow shape, approved six times by two people
        await decided(
            f"db.staging.visits_2026_11_{day:02d}",
            "bob@example.org" if day % 2 else "carol@example.org",
        )
    for who in ("bob@example.org", "carol@example.org", "bob@example.org"):
        await decided("db.staging.claims", who)
    await decided("db.staging.claims", "carol@example.org", "deny")  # a denial spoils it


def test_suggests_only_the_always_approved_pattern(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    migrate.upgrade(url)

    async def seed() -> None:
        runtime = Runtime(make_settings(url, tmp_path))
        try:
            await _history(runtime)
        finally:
            await runtime.close()

    asyncio.run(seed())
    env = {"APPROVALS_DATABASE_URL": url, "APPROVALS_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(app, ["policy", "suggest", "--json"], env=env)
    assert result.exit_code == 0, result.output
    suggestions = json.loads(result.stdout)["suggestions"]
    assert len(suggestions) == 1
    (only,) = suggestions
    assert only["approvals"] == 6
    assert only["approvers"] == ["bob@example.org", "carol@example.org"]
    assert "auto_approve" in only["snippet"]
    assert "claims" not in only["snippet"]
    text = CliRunner().invoke(app, ["policy", "suggest", "--min-approvals", "7"], env=env)
    assert "No pattern was approved 7+ times" in text.stdout


async def _flushes(runtime: Runtime) -> list[str]:
    """The issue's history: six approved `cache.flush` on `redis.prod.sessions-N` in prod."""
    created = await clients_service.create(
        runtime.db, name="ops", scopes=[Scope.SUBMIT], identity="svc:ops"
    )
    async with runtime.db() as session:
        client = await session.get(Client, created.client_id)
    assert client is not None
    ids = []
    for n in range(1, 7):
        body = ActionCreate(
            action="cache.flush", resource=f"redis.prod.sessions-{n}", environment="prod"
        )
        action = (await actions_service.submit(runtime, client, body)).action
        await decisions.decide(
            runtime,
            action.id,
            approver="bob@example.org" if n % 2 else "carol@example.org",
            verdict="approve",
            reason=None,
            platform="api",
        )
        ids.append(action.id)
    return ids


def test_six_prod_session_flushes_never_suggest_flushing_everything(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    migrate.upgrade(url)

    async def seed() -> list[str]:
        runtime = Runtime(make_settings(url, tmp_path))
        try:
            return await _flushes(runtime)
        finally:
            await runtime.close()

    ids = asyncio.run(seed())
    env = {"APPROVALS_DATABASE_URL": url, "APPROVALS_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(app, ["policy", "suggest", "--json"], env=env)
    assert result.exit_code == 0, result.output
    (only,) = json.loads(result.stdout)["suggestions"]
    assert only["resource"] == "redis.prod.sessions-*"
    assert only["would_auto_approve"] == ids
    text = CliRunner().invoke(app, ["policy", "suggest"], env=env).stdout
    assert "resource: '*'" not in text
    assert "resource: redis.prod.sessions-*" in text
    assert f"would have auto-approved 6 past requests: {', '.join(ids)}" in text
