"""Secrets at rest: webhook secrets are sealed in the database with the service's secret key
(legacy plaintext rows still work and `approvals migrate` seals them; a rotated key keeps old
rows readable), and the embedded database, its -wal/-shm, keys and the data dir are owner-only."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from approvals.cli import app
from approvals.clients import service as clients_service
from approvals.clients.models import Client
from approvals.clients.schemas import Scope
from approvals.config import SECRET_KEY_FILE
from approvals.kit.secretbox import SecretBoxError
from approvals.runtime import Runtime
from tests.conftest import make_settings

KEY_A = "a" * 8 + "0123456789abcdefghijklmnopqrstuv"
KEY_B = "b" * 8 + "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"


async def _raw_secret(runtime: Runtime, client_id: str) -> str:
    async with runtime.engine.connect() as connection:
        return str(
            (
                await connection.execute(
                    text("SELECT webhook_secret FROM clients WHERE id = :id"), {"id": client_id}
                )
            ).scalar_one()
        )


async def _secret_seen_by_callbacks(runtime: Runtime, client_id: str) -> str:
    async with runtime.db() as session:
        client = await session.get(Client, client_id)
        assert client is not None
        return clients_service.webhook_secret(session, client)


async def test_the_raw_column_never_holds_the_webhook_secret(runtime: Runtime) -> None:
    created = await clients_service.create(runtime.db, name="etl", scopes=[Scope.SUBMIT])
    stored = await _raw_secret(runtime, created.client_id)
    assert created.webhook_secret.startswith("whsec_")
    assert created.webhook_secret not in stored
    assert created.webhook_secret.removeprefix("whsec_") not in stored
    assert stored.startswith("sealed:v1:")
    assert await _secret_seen_by_callbacks(runtime, created.client_id) == created.webhook_secret


async def test_a_sealed_secret_moved_to_another_client_does_not_open(runtime: Runtime) -> None:
    one = await clients_service.create(runtime.db, name="one", scopes=[Scope.SUBMIT])
    two = await clients_service.create(runtime.db, name="two", scopes=[Scope.SUBMIT])
    sealed_for_one = await _raw_secret(runtime, one.client_id)
    async with runtime.engine.begin() as connection:
        await connection.execute(
            text("UPDATE clients SET webhook_secret = :s WHERE id = :id"),
            {"s": sealed_for_one, "id": two.client_id},
        )
    with pytest.raises(SecretBoxError, match="damaged"):
        await _secret_seen_by_callbacks(runtime, two.client_id)


def _env(settings_url: str, tmp_path: Path, **more: str) -> dict[str, str]:
    return {
        "APPROVALS_DATABASE_URL": settings_url,
        "APPROVALS_DATA_DIR": str(tmp_path / "data"),
        **more,
    }


async def test_plaintext_rows_from_before_still_sign_and_migrate_seals_them(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    created = await clients_service.create(runtime.db, name="legacy", scopes=[Scope.SUBMIT])
    async with runtime.engine.begin() as connection:  # as an older version stored it
        await connection.execute(
            text("UPDATE clients SET webhook_secret = :s WHERE id = :id"),
            {"s": created.webhook_secret, "id": created.client_id},
        )
    assert await _secret_seen_by_callbacks(runtime, created.client_id) == created.webhook_secret

    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["migrate"], env=_env(database_url, tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert "sealed 1 stored webhook secrets" in result.stdout
    stored = await _raw_secret(runtime, created.client_id)
    assert stored.startswith("sealed:v1:")
    assert await _secret_seen_by_callbacks(runtime, created.client_id) == created.webhook_secret


async def test_rotating_the_secret_key_keeps_old_rows_readable_until_migrate_reseals(
    database_url: str, tmp_path: Path
) -> None:
    old = Runtime(make_settings(database_url, tmp_path, secret_key=KEY_A))
    try:
        async with old.engine.begin() as connection:
            await connection.execute(text("DELETE FROM clients"))
        created = await clients_service.create(old.db, name="rotating", scopes=[Scope.SUBMIT])
        sealed_by_a = await _raw_secret(old, created.client_id)
    finally:
        await old.close()

    alone = Runtime(make_settings(database_url, tmp_path, secret_key=KEY_B))
    try:
        with pytest.raises(SecretBoxError, match="APPROVALS_PREVIOUS_SECRET_KEYS"):
            await _secret_seen_by_callbacks(alone, created.client_id)
    finally:
        await alone.close()

    env = _env(
        database_url,
        tmp_path,
        APPROVALS_SECRET_KEY=KEY_B,
        APPROVALS_PREVIOUS_SECRET_KEYS=KEY_A,
    )
    result = await asyncio.to_thread(CliRunner().invoke, app, ["migrate"], env=env)
    assert result.exit_code == 0, result.output
    assert "sealed 1 stored webhook secrets" in result.stdout

    new = Runtime(make_settings(database_url, tmp_path, secret_key=KEY_B))
    try:
        assert await _raw_secret(new, created.client_id) != sealed_by_a
        assert await _secret_seen_by_callbacks(new, created.client_id) == created.webhook_secret
    finally:
        await new.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The loosest umask a host could have: modes must come from the code, not the umask."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_embedded_data_files_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"APPROVALS_DATA_DIR": str(data)}
    assert CliRunner().invoke(app, ["migrate"], env=env).exit_code == 0
    created = CliRunner().invoke(
        app, ["clients", "create", "etl", "--scopes", "submit", "--json"], env=env
    )
    assert created.exit_code == 0, created.output

    async def while_open() -> dict[str, int]:
        runtime = Runtime(make_settings(f"sqlite:///{data / 'approvals.db'}", tmp_path))
        try:
            await clients_service.create(runtime.db, name="second", scopes=[Scope.SUBMIT])
            files = [p for p in data.rglob("*") if p.is_file()]
            return {str(p.relative_to(data)): _mode(p) for p in files}
        finally:
            await runtime.close()

    modes = asyncio.run(while_open())
    assert _mode(data) == 0o700
    assert _mode(data / "keys") == 0o700
    assert {"approvals.db", "approvals.db-wal", "approvals.db-shm", SECRET_KEY_FILE} <= set(modes)
    assert "keys/active.pem" in modes
    assert {name: mode for name, mode in modes.items() if mode != 0o600} == {}


@pytest.mark.usefixtures("open_umask")
def test_files_left_open_by_an_older_version_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    database = data / "approvals.db"
    database.touch(mode=0o644)
    env = {"APPROVALS_DATA_DIR": str(data)}
    assert CliRunner().invoke(app, ["migrate"], env=env).exit_code == 0
    assert (_mode(data), _mode(database)) == (0o700, 0o600)
