"""`require_approval` against a live service: the function runs once, only with a verified
token; denials, policy blocks, timeouts and forged tokens never run it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

from approvals.client import (
    Action,
    ApprovalDenied,
    ApprovalExpired,
    ApprovalsClient,
    ApprovalTimedOut,
    AsyncApprovalsClient,
    ReleaseNotVerified,
    require_approval,
)
from approvals.release.keys import b64url, b64url_decode

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.client.conftest import Live


def test_an_approved_call_runs_once_and_is_recorded_executed(live: Live) -> None:
    calls: list[tuple[str, int]] = []
    with live.agent() as agent:

        @require_approval(
            agent,
            action="sql.execute",
            resource=lambda p: f"db.staging.{p['table']}",
            justification="merge duplicated rows the agent found",
            environment="staging",
        )
        def merge(table: str, keep: int = 1) -> str:
            calls.append((table, keep))
            return f"merged into {keep}"

        live.decide_when_pending("approve", action="sql.execute")
        assert merge("encounters", keep=3) == "merged into 3"
        assert calls == [("encounters", 3)]
        [done] = [a for a in _mine(live) if a.resource == "db.staging.encounters"]
        assert done.status == "executed"


class _Recording(httpx.HTTPTransport):
    """The agent's own transport, noting which paths it called."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return super().handle_request(request)


def test_an_auto_approved_call_runs_on_the_token_of_its_submit_without_waiting(
    live: Live,
) -> None:
    seen = _Recording()
    with live.agent(transport=seen) as agent:

        @require_approval(agent, action="sql.execute", resource="db.dev.scratch", environment="dev")
        def run_sql(sql: str) -> str:
            return sql

        assert run_sql("UPDATE scratch SET x = 1") == "UPDATE scratch SET x = 1"
    [done] = [a for a in _mine(live) if a.resource == "db.dev.scratch"]
    assert done.verdict == "auto_approved"
    assert done.status == "executed"
    assert [p for p in seen.paths if p.endswith("/wait")] == []
    assert seen.paths[0] == "/v1/actions"


async def test_an_auto_approved_coroutine_runs_on_the_token_of_its_submit(live: Live) -> None:
    async with AsyncApprovalsClient(
        live.url, live.keys["agent"], client_id=live.client_ids["agent"]
    ) as agent:

        @require_approval(agent, action="sql.execute", resource="db.dev.async", environment="dev")
        async def run_sql(sql: str) -> str:
            return sql

        assert await run_sql("UPDATE scratch SET y = 2") == "UPDATE scratch SET y = 2"
    [done] = [a for a in _mine(live) if a.resource == "db.dev.async"]
    assert done.status == "executed"


def test_a_denial_never_runs_the_function(live: Live) -> None:
    calls: list[str] = []
    with live.agent() as agent:

        @require_approval(
            agent, action="shell.run", resource="host.staging.etl", environment="staging"
        )
        def wipe(path: str) -> None:
            calls.append(path)

        live.decide_when_pending("deny", "use the retention job instead", action="shell.run")
        with pytest.raises(ApprovalDenied) as denied:
            wipe("/data/tmp")
    assert calls == []
    assert denied.value.approver == "bob@example.org"
    assert denied.value.reason == "use the retention job instead"


def test_a_policy_block_is_a_denial_with_the_policy_message(live: Live) -> None:
    calls: list[str] = []
    with live.agent() as agent:

        @require_approval(agent, action="sql.execute", resource="db.prod.encounters")
        def run_sql(sql: str) -> None:
            calls.append(sql)

        with pytest.raises(ApprovalDenied) as blocked:
            run_sql("DROP TABLE encounters")
    assert calls == []
    assert (blocked.value.approver or "").startswith("policy:")
    assert "never runs in prod" in (blocked.value.reason or "")


def test_a_failure_is_reported_and_reraised(live: Live) -> None:
    with live.agent() as agent:

        @require_approval(
            agent, action="k8s.scale", resource="cluster.staging/etl", environment="staging"
        )
        def scale(replicas: int) -> None:
            raise TimeoutError("the cluster did not answer")

        live.decide_when_pending("approve", action="k8s.scale")
        with pytest.raises(TimeoutError):
            scale(5)
    [done] = [a for a in _mine(live) if a.action == "k8s.scale"]
    assert done.status == "executed"


def test_a_timeout_cancels_the_request_and_never_runs(live: Live) -> None:
    calls: list[int] = []
    with live.agent() as agent:

        @require_approval(
            agent, action="s3.copy", resource="s3://staging/tmp", environment="staging", timeout=0.5
        )
        def copy(n: int) -> None:
            calls.append(n)

        with pytest.raises(ApprovalTimedOut) as timed_out:
            copy(1)
    assert isinstance(timed_out.value, ApprovalExpired)
    assert calls == []
    assert live.read(timed_out.value.action.id).verdict == "cancelled"


@pytest.mark.parametrize("forgery", ["tampered", "other_params"])
def test_a_forged_release_token_never_runs_the_function(live: Live, forgery: str) -> None:
    """A man in the middle rewrites the service's answers; the decorator must notice."""
    with live.agent() as honest:
        other = honest.submit(
            action="sql.execute",
            resource="db.staging.visits",
            environment="staging",
            params={"sql": "SELECT 1"},
        )
        live.decide_when_pending("approve", action="sql.execute")
        spare = honest.wait(other.id, timeout=10).release_token or ""
    assert spare

    def forge(token: str) -> str:
        if forgery == "tampered":  # claims edited to name another approver: signature breaks
            header, payload, signature = token.split(".")
            claims = json.loads(b64url_decode(payload))
            claims["apr"] = ["mallory@example.org"]
            return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
        return spare  # validly signed, but for another request with other params

    calls: list[str] = []
    with ApprovalsClient(
        live.url,
        live.keys["agent"],
        client_id=live.client_ids["agent"],
        transport=_Rewriting(forge),
    ) as agent:

        @require_approval(
            agent, action="sql.execute", resource="db.staging.visits", environment="staging"
        )
        def run_sql(sql: str) -> None:
            calls.append(sql)

        live.decide_when_pending("approve", action="sql.execute")
        with pytest.raises(ReleaseNotVerified) as refused:
            run_sql("DELETE FROM visits WHERE id = 9")
    assert calls == []
    assert refused.value.reason == ("bad_signature" if forgery == "tampered" else "digest_mismatch")
    assert live.status(refused.value.action_id or "") == "released"  # never reported executed


async def test_an_async_tool_is_gated_the_same_way(live: Live) -> None:
    calls: list[str] = []
    async with AsyncApprovalsClient(
        live.url, live.keys["agent"], client_id=live.client_ids["agent"]
    ) as agent:

        @require_approval(
            agent, action="sql.execute", resource="db.staging.labs", environment="staging"
        )
        async def run_sql(sql: str) -> int:
            calls.append(sql)
            return 1

        live.decide_when_pending("approve", action="sql.execute")
        assert await run_sql("UPDATE labs SET flag = 0 WHERE id = 4") == 1
        live.decide_when_pending("deny", "not today", action="sql.execute")
        with pytest.raises(ApprovalDenied):
            await run_sql("UPDATE labs SET flag = 1 WHERE id = 4")
    assert calls == ["UPDATE labs SET flag = 0 WHERE id = 4"]


def test_a_sync_function_needs_a_sync_client(live: Live) -> None:
    agent = AsyncApprovalsClient(live.url, live.keys["agent"])
    with pytest.raises(TypeError, match="ApprovalsClient"):
        require_approval(agent, action="a.b", resource="r")(lambda: None)


def test_arguments_that_are_not_json_are_refused_before_submitting(live: Live) -> None:
    with live.agent() as agent:

        @require_approval(agent, action="a.b", resource="r", environment="staging")
        def tool(value: object) -> None:
            raise AssertionError("must not run")

        with pytest.raises(TypeError, match="JSON"):
            tool(object())


def _mine(live: Live) -> list[Action]:
    """Every request, as a reviewer sees them (newest first)."""
    response = httpx.get(
        f"{live.url}/v1/actions",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {live.keys['bob']}"},
    )
    assert response.status_code == 200, response.text
    return [Action.model_validate(item) for item in response.json()["items"]]


class _Rewriting(httpx.HTTPTransport):
    """Replaces `release_token` in the service's answers (a test double for a hostile network)."""

    def __init__(self, forge: Callable[[str], str]) -> None:
        super().__init__()
        self._forge = forge

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method != "GET" or not request.url.path.startswith("/v1/actions/"):
            return response
        response.read()
        body = json.loads(response.content)
        if body.get("release_token"):
            body["release_token"] = self._forge(body["release_token"])
        return httpx.Response(response.status_code, json=body)


def test_sql_in_a_decorated_functions_argument_is_analysed_by_guardrails(live: Live) -> None:
    """The decorator sends argument names as keys (`query`, not `sql`); the guardrails still
    read it, so a DROP TABLE in dev is not auto-approved like a harmless call."""
    calls: list[str] = []
    with live.agent() as agent:

        @require_approval(agent, action="sql.execute", resource="db.dev.clinic", environment="dev")
        def run_query(query: str) -> None:
            calls.append(query)

        live.decide_when_pending("deny", "not on the shared dev database", action="sql.execute")
        with pytest.raises(ApprovalDenied):
            run_query("DROP TABLE patients")
    assert calls == []
    [asked] = [a for a in _mine(live) if a.resource == "db.dev.clinic"]
    assert asked.risk == "critical"
    assert asked.verdict == "denied"
