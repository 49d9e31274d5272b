"""`approvals mcp` through the mcp package's own client, against a live service; a reviewer
(bob, another key) decides from another thread."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from approvals.client import AsyncApprovalsClient
from approvals.mcp.server import build_server

if TYPE_CHECKING:
    from tests.integration.client.conftest import Live

SQL = {"sql": "UPDATE encounters SET ward = 'C' WHERE id = 11"}


def _state(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    state: dict[str, Any] = result.structured_content
    return state


async def test_request_wait_verify_and_report_in_process(live: Live) -> None:
    async with (
        AsyncApprovalsClient(
            live.url, live.keys["agent"], client_id=live.client_ids["agent"]
        ) as agent,
        Client(build_server(agent)) as session,
    ):
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert {"request_approval", "approval_status", "report_executed"} <= names

        live.decide_when_pending("approve", action="sql.execute")
        state = _state(
            await session.call_tool(
                "request_approval",
                {
                    "action": "sql.execute",
                    "resource": "db.staging.encounters",
                    "params": SQL,
                    "justification": "move the patient to ward C",
                    "environment": "staging",
                    "wait_seconds": 10,
                },
            )
        )
        assert state["status"] == "released"
        assert state["release_verified"] is True
        assert state["decided_by"] == "bob@example.org"
        claims = await agent.verify_release(
            (await agent.get(state["id"])),
            action_name="sql.execute",
            resource="db.staging.encounters",
            params=SQL,
        )
        assert claims.action_id == state["id"]

        done = _state(
            await session.call_tool(
                "report_executed", {"id": state["id"], "outcome": "succeeded", "detail": "1 row"}
            )
        )
        assert done["status"] == "executed"
        assert live.status(state["id"]) == "executed"


async def test_denied_and_pending_answers_say_do_not_run(live: Live) -> None:
    async with (
        AsyncApprovalsClient(live.url, live.keys["agent"]) as agent,
        Client(build_server(agent)) as session,
    ):
        pending = _state(
            await session.call_tool(
                "request_approval",
                {
                    "action": "s3.export",
                    "resource": "s3://staging-exports/x",
                    "justification": "share with the lab",
                    "environment": "staging",
                },
            )
        )
        assert pending["status"] == "pending"
        assert pending["release_token"] is None
        live.decide_when_pending("deny", "use the de-identified view", action="s3.export")
        denied = _state(
            await session.call_tool("approval_status", {"id": pending["id"], "wait_seconds": 10})
        )
        assert denied["verdict"] == "denied"
        assert denied["reason"] == "use the de-identified view"
        assert denied["release_token"] is None
        assert "Do NOT run" in denied["next_step"]

        blocked = _state(
            await session.call_tool(
                "request_approval",
                {
                    "action": "sql.execute",
                    "resource": "db.prod.encounters",
                    "params": {"sql": "DROP TABLE encounters"},
                    "justification": "clean up",
                },
            )
        )
        assert blocked["verdict"] == "blocked"
        assert "never runs in prod" in blocked["reason"]

        refused = await session.call_tool("report_executed", {"id": pending["id"]})
        assert refused.is_error


async def test_the_cli_serves_the_tools_over_stdio(live: Live, tmp_path: Path) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "approvals", "mcp"],
        env={
            "APPROVALS_URL": live.url,
            "APPROVALS_KEY": live.keys["agent"],
            "APPROVALS_CLIENT_ID": live.client_ids["agent"],
        },
        cwd=tmp_path,
    )
    async with Client(server) as session:
        live.decide_when_pending("approve", action="k8s.restart")
        state = _state(
            await session.call_tool(
                "request_approval",
                {
                    "action": "k8s.restart",
                    "resource": "cluster.staging/etl",
                    "params": {"deployment": "etl", "replicas": 2},
                    "justification": "stuck worker",
                    "environment": "staging",
                    "wait_seconds": 15,
                },
            )
        )
        assert state["release_verified"] is True, state
        again = _state(await session.call_tool("approval_status", {"id": state["id"]}))
        assert again["release_verified"] is True
        done = _state(await session.call_tool("report_executed", {"id": state["id"]}))
        assert done["status"] == "executed"


def test_the_command_teaches_its_client_config_and_needs_a_key(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from approvals.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["mcp", "--help"], env={"COLUMNS": "120"})
    assert shown.exit_code == 0
    words = " ".join(shown.stdout.split())
    for text in ('"mcpServers"', '"args": ["mcp"]', "APPROVALS_KEY", "clients create my-agent"):
        assert text in words
    assert "mcp" in runner.invoke(app, ["--help"]).stdout
    keyless = runner.invoke(
        app, ["mcp"], env={"APPROVALS_KEY": "", "APPROVALS_DATA_DIR": str(tmp_path)}
    )
    assert keyless.exit_code == 1
    assert "APPROVALS_KEY" in keyless.stderr


async def test_invalid_arguments_are_refused_naming_fields_not_values(
    caplog: Any,
) -> None:
    caplog.set_level("DEBUG")
    # Invalid arguments are refused before any call to the service, so none is running here.
    async with (
        AsyncApprovalsClient("http://127.0.0.1:9", "apv_unused") as agent,
        Client(build_server(agent)) as session,
    ):
        result = await session.call_tool(
            "request_approval",
            {
                "action": "sql.execute",
                "resource": {"ssn": "123-45-6789"},
                "justification": "for Margaret Whitfield",
                "params": "SELECT * FROM patients WHERE ssn = '123-45-6789'",
                "wait_seconds": "Margaret Whitfield",
            },
        )
    assert result.is_error
    text = " ".join(getattr(part, "text", "") for part in result.content)
    assert "resource" in text and "params" in text and "wait_seconds" in text
    for planted in ("123-45-6789", "Margaret", "Whitfield", "SELECT"):
        assert planted not in text
        assert planted not in caplog.text
