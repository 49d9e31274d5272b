"""The SDK and `approvals request --wait` against a real server on a loopback port."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from approvals.cli import app as cli
from approvals.client import ApprovalsAPIError, ApprovalsClient
from approvals.clients.schemas import Scope
from tests.live_service import serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    people = [
        ("etl", [Scope.SUBMIT], "svc:etl"),
        ("bob", [Scope.REVIEW], "bob@example.org"),
    ]
    with serving(tmp_path_factory.mktemp("sdk"), people) as running:
        yield running.url, running.keys


def _decide_later(base: str, key: str, verdict: str, reason: str | None = None) -> None:
    def run() -> None:
        # Poll until the request shows up: under load the CLI may take longer than a fixed nap.
        with ApprovalsClient(base, key) as client:
            for _ in range(400):
                waiting = client.pending()
                for action in waiting:
                    client.decide(action.id, verdict, reason)
                if waiting:
                    return
                time.sleep(0.05)

    threading.Thread(target=run, daemon=True).start()


def _request_args(base: str, key: str, *extra: str) -> list[str]:
    return [
        "request",
        "--action",
        "sql.execute",
        "--resource",
        "db.staging.t",
        "--environment",
        "staging",
        "--param",
        "sql=DELETE FROM t WHERE id = 4",
        "--wait",
        "--timeout",
        "20",
        "--server",
        base,
        "--key",
        key,
        *extra,
    ]


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
    result = CliRunner().invoke(cli, _request_args(base, keys["etl"]))
    assert result.exit_code == exit_code, result.output
    assert says in result.stdout


def test_request_still_pending_at_the_timeout_is_cancelled_and_exits_4(
    server: tuple[str, dict[str, str]],
) -> None:
    base, keys = server
    args = _request_args(base, keys["etl"], "--timeout", "0.5", "--json")
    result = CliRunner().invoke(cli, args)  # the last --timeout wins
    assert result.exit_code == 4
    action_id = json.loads(result.stdout)["id"]
    assert "still pending at --timeout; cancelled" in result.stderr
    with ApprovalsClient(base, keys["bob"]) as bob:
        assert bob.get(action_id).verdict == "cancelled"
        assert action_id not in {a.id for a in bob.pending()}  # gone from reviewers' queues


def test_keep_pending_leaves_the_request_for_reviewers(
    server: tuple[str, dict[str, str]],
) -> None:
    base, keys = server
    args = _request_args(base, keys["etl"], "--timeout", "0.5", "--json", "--keep-pending")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 4
    assert '"status": "pending"' in result.stdout
    with ApprovalsClient(base, keys["bob"]) as bob:
        pending = {a.id for a in bob.pending()}
        assert json.loads(result.stdout)["id"] in pending
        for action_id in pending:  # leave no queue behind for the tests after this one
            bob.decide(action_id, "deny", "test over")


def test_request_help_documents_keep_pending() -> None:
    result = CliRunner().invoke(cli, ["request", "--help"], env={"COLUMNS": "200"})
    assert "--keep-pending" in result.stdout
    assert "cancelled" in result.stdout


def test_request_without_a_key_says_how_to_get_one() -> None:
    result = CliRunner().invoke(
        cli, ["request", "--action", "a", "--resource", "r"], env={"APPROVALS_KEY": ""}
    )
    assert result.exit_code == 1
    assert "approvals clients create" in result.stderr


def test_request_wait_verifies_the_release_token_before_exiting_0(
    server: tuple[str, dict[str, str]],
) -> None:
    base, keys = server
    _decide_later(base, keys["bob"], "approve")
    result = CliRunner().invoke(cli, _request_args(base, keys["etl"]))
    assert result.exit_code == 0, result.output
    assert "release token verified" in result.output


def test_a_token_that_does_not_verify_fails_the_step(server: tuple[str, dict[str, str]]) -> None:
    base, keys = server
    _decide_later(base, keys["bob"], "approve")
    wrong = _request_args(base, keys["etl"], "--issuer", "https://someone-else.example")
    result = CliRunner().invoke(cli, wrong)
    assert result.exit_code == 1, result.output
    assert "does not verify (wrong_issuer): do not run the action" in result.output
