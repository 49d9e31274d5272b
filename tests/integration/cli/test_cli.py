"""The command line as an operator uses it: keys, migrations, help that teaches."""

from __future__ import annotations

import json
import socket
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: nothing listens there


class TestOneLineErrors:
    def test_a_service_that_is_down_is_one_line_and_exit_1(self) -> None:
        server = f"http://127.0.0.1:{_free_port()}"
        args = ["request", "--action", "a.b", "--resource", "r", "--server", server, "--key", "k"]
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert f"cannot reach the approvals service at {server}" in result.stderr
        assert "approvals serve" in result.stderr
        assert "Traceback" not in result.output

    def test_request_help_documents_the_exit_codes(self) -> None:
        result = runner.invoke(app, ["request", "--help"], env={"COLUMNS": "200"})
        assert "cannot be reached" in result.stdout
        assert "1 error" in result.stdout

    def test_an_unmigrated_database_says_run_migrate(self, tmp_path: Path) -> None:
        env = {"APPROVALS_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
        code, _, err = _run(env, "clients", "create", "nightly-etl")
        assert code == 1
        assert "has no approvals schema" in err and "run `approvals migrate`" in err
        assert "INSERT" not in err and "whsec_" not in err  # no SQL, no secret

    def test_an_unreachable_database_is_one_line(self) -> None:
        env = {"APPROVALS_DATABASE_URL": f"postgresql://nobody:pw@127.0.0.1:{_free_port()}/x"}
        code, _, err = _run(env, "clients", "list")
        assert code == 1
        assert err.strip().count("\n") == 0, err
        assert "cannot connect to the database" in err
        assert ":pw@" not in err


class TestDataDirectory:
    @pytest.fixture
    def elsewhere(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """A folder that is not the service's: no .env, no .approvals, defaults only."""
        monkeypatch.chdir(tmp_path)
        for name in ("APPROVALS_DATABASE_URL", "APPROVALS_DATA_DIR"):
            monkeypatch.delenv(name, raising=False)
        return tmp_path

    def test_outside_the_service_folder_refuses_naming_the_data_directory(
        self, elsewhere: Path
    ) -> None:
        code, _, err = _run({}, "clients", "create", "nightly-etl")
        assert code == 1
        assert f"no approvals database at {elsewhere / '.approvals' / 'approvals.db'}" in err
        assert "APPROVALS_DATA_DIR" in err
        assert not (elsewhere / ".approvals").exists()  # nothing stray left behind

    def test_an_embedded_database_is_migrated_as_serve_does(self, elsewhere: Path) -> None:
        (elsewhere / ".approvals").mkdir()
        (elsewhere / ".approvals" / "approvals.db").touch()  # an old, empty database file
        code, out, err = _run({}, "clients", "create", "nightly-etl", "--json")
        assert code == 0, err
        assert json.loads(out)["api_key"]
        assert _run({}, "clients", "list", "--json")[0] == 0

    def test_help_says_where_the_data_directory_is(self) -> None:
        result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
        assert "data directory APPROVALS_DATA_DIR (default ./.approvals" in result.stdout
