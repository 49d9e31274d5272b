"""API keys over their life, as an operator drives them from the command line: expiry, last
use, rotation and revocation, each audited under the operator who did it."""

from __future__ import annotations

import asyncio
import getpass
import json
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from freezegun import freeze_time
from sqlalchemy import select
from typer.testing import CliRunner

from approvals.audit.models import AuditEvent
from approvals.cli import app as cli
from approvals.kit.clock import utc_now
from approvals.runtime import Runtime

runner = CliRunner()


@pytest.fixture
def env(database_url: str, tmp_path: Path, runtime: Runtime) -> dict[str, str]:
    return {"APPROVALS_DATABASE_URL": database_url, "APPROVALS_DATA_DIR": str(tmp_path)}


async def _cli(env: dict[str, str], *args: str) -> Any:
    result = await asyncio.to_thread(runner.invoke, cli, list(args), env=env)
    assert result.exit_code == 0, result.stderr or result.stdout
    return json.loads(result.stdout) if "--json" in args else result.stdout


async def _events(runtime: Runtime, kind: str) -> list[AuditEvent]:
    async with runtime.db() as session:
        found = await session.execute(select(AuditEvent).where(AuditEvent.event_type == kind))
        return list(found.scalars())


async def _status(http: httpx.AsyncClient, key: str) -> int:
    response = await http.get("/v1/actions", headers={"Authorization": f"Bearer {key}"})
    return response.status_code


class TestKeyLifecycle:
    async def test_expiring_key_works_until_its_date_then_gets_401(
        self, env: dict[str, str], http: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        made = await _cli(
            env, "clients", "create", "etl", "--scopes", "submit", "--expires", "1h", "--json"
        )
        expires = datetime.fromisoformat(made["expires_at"])
        assert timedelta(minutes=59) < expires - utc_now() <= timedelta(hours=1)
        assert await _status(http, made["api_key"]) == 200
        with freeze_time(expires + timedelta(seconds=1)):
            response = await http.get(
                "/v1/actions", headers={"Authorization": f"Bearer {made['api_key']}"}
            )
        assert response.status_code == 401
        assert "expired" in response.json()["detail"]

    async def test_list_shows_expiry_and_last_use(
        self, env: dict[str, str], http: httpx.AsyncClient
    ) -> None:
        made = await _cli(env, "clients", "create", "etl", "--scopes", "submit", "--json")
        (before,) = await _cli(env, "clients", "list", "--json")
        assert (before["expires_at"], before["last_used_at"]) == (None, None)
        await _status(http, made["api_key"])
        (after,) = await _cli(env, "clients", "list", "--json")
        used = datetime.fromisoformat(after["last_used_at"])
        assert utc_now() - used < timedelta(seconds=30)
        assert "used " in await _cli(env, "clients", "list")

    async def test_rotation_retires_the_old_key_at_once_and_names_the_operator(
        self, env: dict[str, str], http: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        old = await _cli(env, "clients", "create", "etl", "--scopes", "submit", "--json")
        new = await _cli(
            env,
            "clients",
            "rotate",
            "etl",
            "--expires",
            "90d",
            "--operator",
            "ops@example.org",
            "--json",
        )
        assert new["client_id"] == old["client_id"]
        assert new["api_key"] != old["api_key"]
        assert await _status(http, old["api_key"]) == 401
        assert await _status(http, new["api_key"]) == 200
        (rotated,) = await _events(runtime, "key_rotated")
        assert rotated.actor == "ops@example.org"
        assert rotated.payload["expires_at"] == new["expires_at"]
        (listed,) = await _cli(env, "clients", "list", "--json")
        assert listed["rotated_at"] is not None

    async def test_create_and_revoke_are_audited_under_the_os_user_by_default(
        self, env: dict[str, str], http: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        made = await _cli(env, "clients", "create", "etl", "--scopes", "submit", "--json")
        await _cli(env, "clients", "revoke", "etl", "--operator", "Ana (on call)", "--json")
        assert await _status(http, made["api_key"]) == 401
        (created,) = await _events(runtime, "key_created")
        (revoked,) = await _events(runtime, "key_revoked")
        assert created.actor == f"{getpass.getuser()}@{socket.gethostname()}"
        assert created.actor != "cli"
        assert revoked.actor == "Ana (on call)"

    async def test_a_bad_expiry_is_a_clear_error(self, env: dict[str, str]) -> None:
        result = await asyncio.to_thread(
            runner.invoke, cli, ["clients", "create", "etl", "--expires", "soon"], env=env
        )
        assert result.exit_code == 1
        assert "invalid duration" in result.stderr
