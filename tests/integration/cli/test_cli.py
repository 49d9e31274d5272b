"""The command line as an operator uses it: keys, migrations, help that teaches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from approvals.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "APPROVALS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "APPROVALS_DATA_DIR": str(tmp_path / "data"),
    }


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_every_command_and_how_to_start() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "worker", "migrate", "clients"):
        assert command in result.stdout
    assert "approvals serve" in result.stdout


def test_create_list_revoke_a_client_as_json(env: dict[str, str]) -> None:
    assert _run(env, "migrate")[0] == 0
    code, out, _ = _run(
        env,
        "clients",
        "create",
        "nightly-etl",
        "--scopes",
        "submit,review",
        "--identity",
        "Alice@Example.org",
        "--json",
    )
    assert code == 0
    created = json.loads(out)
    assert set(created) == {"client_id", "api_key", "webhook_secret", "expires_at"}
    assert created["api_key"].startswith("apk_")
    code, out, _ = _run(env, "clients", "list", "--json")
    listed = json.loads(out)
    assert [(c["name"], c["identity"], c["scopes"]) for c in listed] == [
        ("nightly-etl", "alice@example.org", ["submit", "review"])
    ]
    assert created["api_key"] not in out  # keys are shown once, never listed
    code, out, _ = _run(env, "clients", "revoke", "nightly-etl", "--json")
    assert code == 0
    assert json.loads(out)["revoked_at"] is not None


def test_unknown_scope_and_duplicate_name_are_clear_errors(env: dict[str, str]) -> None:
    _run(env, "migrate")
    code, _, err = _run(env, "clients", "create", "x", "--scopes", "sumbit")
    assert code == 1
    assert "unknown scope 'sumbit'" in err
    _run(env, "clients", "create", "x")
    code, _, err = _run(env, "clients", "create", "x")
    assert code == 1
    assert "already exists" in err


def test_revoking_an_unknown_client_says_where_to_look(env: dict[str, str]) -> None:
    _run(env, "migrate")
    code, _, err = _run(env, "clients", "revoke", "ghost")
    assert code == 1
    assert "approvals clients list" in err


def test_migrate_against_an_unreachable_database_says_what_to_check(tmp_path: Path) -> None:
    env = {"APPROVALS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    code, _, err = _run(env, "migrate")
    assert code == 1
    assert "APPROVALS_DATABASE_URL" in err


def test_worker_burst_without_redis_runs_due_work(env: dict[str, str]) -> None:
    _run(env, "migrate")
    code, out, _ = _run(env, "worker", "--burst")
    assert code == 0
    assert "expired 0 request(s)" in out
