"""The SDK and `approvals request --wait` against a real server on a loopback port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from approvals import migrate
from approvals.app import create_app
from approvals.cli import app as cli
from approvals.client import ApprovalsAPIError, ApprovalsClient
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.runtime import Runtime
from tests.conftest import make_settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("sdk")
    url = f"sqlite:///{tmp / 'sdk.db'}"
    migrate.upgrade(url)
    settings = make_settings(url, Path(tmp))

    async def make_keys() -> dict[str, str]:
        runtime = Runtime(settings)
        keys = {}
        for name, scope, identity in [
            ("etl", Scope.SUBMIT, "svc:etl"),
            ("bob", Scope.REVIEW, "bob@example.org"),
        ]:
            keys[name] = (
                await clients_service.create(
                    runtime.db, name=name, scopes=[scope], identity=identity
                )
            ).api_key
        await runtime.close()
        return keys

    keys = asyncio.run(make_keys())
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(100):
        if instance.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", keys
    instance.should_exit = True
    thread.join(10)


def _decide_later(base: str, key: str, verdict: str, reason: str | None = None) -> None:
    def run() -> None:
        time.sleep(0.5)
        with ApprovalsClient(base, key) as client:
            for action in client.pending():
                client.decide(action.id, verdict, reason)

    threading.Thread(target=run, daemon=True).start()


def test_sdk_submits_waits_and_reads_the_verdict(server: tuple[str, dict[str, str]]) -> None:
    base, keys = server
    with ApprovalsClient(base, keys["etl"]) as etl, ApprovalsClient(base, keys["bob"]) as bob:
        action = etl.submit(
            action="sql.execute",
            resource="db.staging.t",
            environment="staging",
            params={"sql": "UPDATE t SET x = 1 WHERE id = 2"},
            idempotency_key="sdk-1",
        )
        assert action.pending
        assert (
            etl.submit(
                action="sql.execute",
                resource="db.staging.t",
                environment="staging",
                params={"sql": "UPDATE t SET x = 1 WHERE id = 2"},
                idempotency_key="sdk-1",
            ).id
            == action.id
        )
        bob.decide(action.id, "approve")
        done = etl.wait(action.id, timeout=5)
        assert done.granted
        assert [v.approver for v in done.votes] == ["bob@example.org"]
        with pytest.raises(ApprovalsAPIError) as refused:
            bob.decide(action.id, "deny", "too late")
        assert refused.value.status == 409
        assert refused.value.code == "already_decided"


@pytest.mark.parametrize(
    ("verdict", "reason", "exit_code", "says"),
    [
        ("approve", None, 0, "approved by bob@example.org"),
        (
            "deny",
            "use the de-identified view",
            2,
            "denied by bob@example.org: use the de-identified",
        ),
    ],
)
def test_request_wait_exits_by_the_verdict(
    server: tuple[str, dict[str, str]], verdict: str, reason: str | None, exit_code: int, says: str
) -> None:
    base, keys = server
    _decide_later(base, keys["bob"], verdict, reason)
    result = CliRunner().invoke(
        cli,
        [
            "request",
            "--action",
            "sql.execute",
            "--resource",
            "db.staging.t",
            "--environment",
            "staging",
            "--param",
            "sql=DELETE FROM t WHERE id = 3",
            "--wait",
            "--timeout",
            "20",
            "--server",
            base,
            "--key",
            keys["etl"],
        ],
    )
    assert result.exit_code == exit_code, result.output
    assert says in result.stdout


def test_request_still_pending_after_timeout_exits_4(server: tuple[str, dict[str, str]]) -> None:
    base, keys = server
    result = CliRunner().invoke(
        cli,
        [
            "request",
            "--action",
            "sql.execute",
            "--resource",
            "db.staging.t",
            "--environment",
            "staging",
            "--wait",
            "--timeout",
            "0.5",
            "--server",
            base,
            "--key",
            keys["etl"],
            "--json",
        ],
    )
    assert result.exit_code == 4
    assert '"status": "pending"' in result.stdout


def test_request_without_a_key_says_how_to_get_one() -> None:
    result = CliRunner().invoke(
        cli, ["request", "--action", "a", "--resource", "r"], env={"APPROVALS_KEY": ""}
    )
    assert result.exit_code == 1
    assert "approvals clients create" in result.stderr
