"""Input an attacker or a careless pipeline sends: repeated JSON keys, NUL characters,
credentials in callback URLs, PHI in tags and in malformed requests. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from approvals.actions import decisions
from approvals.actions.models import ActionRequest
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.errors import InvalidRequest
from approvals.kit.db import create_engine
from approvals.kit.logging import configure_logging
from approvals.runtime import Runtime
from tests.builders import ApiClient, action_body

JSON = {"Content-Type": "application/json"}


async def _stored(runtime: Runtime) -> int:
    async with runtime.db() as session:
        query = select(func.count()).select_from(ActionRequest)
        return int((await session.execute(query)).scalar_one())


async def _post_raw(api: ApiClient, path: str, raw: str, who: str = "etl") -> httpx.Response:
    return await api.http.post(path, content=raw.encode(), headers={**api.auth(who), **JSON})


class TestDuplicateKeys:
    async def test_a_repeated_action_key_is_400_and_nothing_is_stored(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        raw = (
            '{"action": "sql.execute", "action": "db.drop_table", '
            '"resource": "db.prod.encounters", "environment": "staging"}'
        )
        response = await _post_raw(api, "/v1/actions", raw)
        assert response.status_code == 400
        assert response.json()["error"] == "duplicate_key"
        assert "repeats a key" in response.json()["detail"]
        assert await _stored(runtime) == 0

    async def test_a_repeated_key_deep_in_context_is_refused_without_naming_it(
        self, api: ApiClient
    ) -> None:
        body = json.dumps(action_body())[:-1]
        raw = (
            body
            + ', "tags": [], "context": {"rows": [{"Margaret Whitfield": 1, '
            + ('"Margaret Whitfield": 2}]}}')
        )
        response = await _post_raw(api, "/v1/actions", raw)
        assert response.status_code == 400
        assert "Margaret" not in response.text

    async def test_a_repeated_verdict_is_refused(self, api: ApiClient) -> None:
        created = await api.create()
        raw = '{"verdict": "deny", "reason": "no", "verdict": "approve"}'
        response = await _post_raw(api, f"/v1/actions/{created['id']}/decisions", raw, "bob")
        assert response.status_code == 400
        assert (await api.get("bob", created["id"])).json()["status"] == "pending"


class TestUnstorableText:
    @pytest.mark.parametrize(
        "overrides",
        [
            {"justification": "fix\u0000rows"},
            {"resource": "db.prod\u0000.encounters"},
            {"context": {"note": "a\u0000b"}},
            {"context": {"key\u0000": "value"}},
            {"params": {"sql": ["SELECT 1", "\u0000"]}},
            {"tags": ["nightly\u0000"]},
            {"on_behalf_of": "alice\u0000@example.org"},
            {"justification": "lone \ud800 surrogate"},
        ],
    )
    async def test_nul_in_any_text_field_is_422_and_nothing_is_stored(
        self, api: ApiClient, runtime: Runtime, overrides: dict[str, Any]
    ) -> None:
        # json.dumps escapes both as \u0000 and \ud800, as any JSON encoder would.
        raw = json.dumps(action_body(**overrides))
        response = await _post_raw(api, "/v1/actions", raw)
        assert response.status_code == 422, response.text
        assert "U+0000" in response.json()["detail"]
        assert await _stored(runtime) == 0

    async def test_nul_in_a_deny_reason_is_422(self, api: ApiClient) -> None:
        created = await api.create()
        response = await api.decide("bob", created["id"], "deny", "not\u0000now")
        assert response.status_code == 422
        assert (await api.get("bob", created["id"])).json()["status"] == "pending"

    async def test_nul_in_a_reason_from_a_chat_platform_is_refused(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        # Slack's modal text arrives inside a form field, past the JSON parse: the core checks.
        created = await api.create()
        with pytest.raises(InvalidRequest, match="U\\+0000"):
            await decisions.decide(
                runtime,
                created["id"],
                approver="bob@example.org",
                verdict="deny",
                reason="not\u0000now",
                platform="slack",
            )
        assert (await api.get("bob", created["id"])).json()["status"] == "pending"

    @pytest.mark.parametrize(
        "path", ["/v1/actions/abc%00def", "/v1/actions?cursor=%00", "/v1/actions?status=%00"]
    )
    async def test_nul_in_the_path_or_query_is_422(self, api: ApiClient, path: str) -> None:
        response = await api.http.get(path, headers=api.auth("admin"))
        assert response.status_code == 422

    async def test_nul_in_a_web_form_is_422(self, api: ApiClient) -> None:
        response = await api.http.post(
            "/ui/login",
            content=b"api_key=abc%00def",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 422

    async def test_database_errors_never_carry_bound_parameters(self, runtime: Runtime) -> None:
        engine = create_engine(runtime.settings.resolved_database_url, pool=False)
        try:
            async with engine.connect() as connection:
                with pytest.raises(Exception) as caught:  # noqa: PT011 (the driver's own type)
                    await connection.execute(
                        text("SELECT :who FROM no_such_table"), {"who": "Margaret Whitfield"}
                    )
        finally:
            await engine.dispose()
        assert "no_such_table" in str(caught.value)
        assert "Margaret" not in str(caught.value)


class TestCallbackCredentials:
    async def test_a_callback_url_with_credentials_is_422_without_echo(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        ci = await clients_service.create(
            runtime.db,
            name="ci",
            scopes=[Scope.SUBMIT],
            identity="svc:ci",
            callback_hosts=["hooks.example.org"],
        )
        response = await api.http.post(
            "/v1/actions",
            json=action_body(callback_url="https://deploy:hunter2@hooks.example.org/cb"),
            headers={"Authorization": f"Bearer {ci.api_key}"},
        )
        assert response.status_code == 422
        assert "credentials" in response.json()["detail"]
        assert "hunter2" not in response.text and "deploy" not in response.text
        assert await _stored(runtime) == 0


class TestTags:
    async def test_tags_are_stored_redacted_and_still_match_policy(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        created = await api.create(tags=["Margaret Whitfield", "backfill"])
        assert "Margaret" not in json.dumps(created["tags"])
        assert "backfill" in created["tags"]
        assert any(f["path"].startswith("$.tags") for f in created["redaction"]["findings"])
        async with runtime.db() as session:
            row = await session.get(ActionRequest, created["id"])
        assert row is not None and "Margaret" not in json.dumps(row.tags)


PLANTED = ["Margaret Whitfield", "123-45-6789", "hunter2"]


async def test_malformed_requests_never_repeat_planted_phi_in_answers_or_logs(
    api: ApiClient,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(runtime.settings)
    caplog.set_level(logging.DEBUG)
    created = await api.create()
    action_path = f"/v1/actions/{created['id']}"
    phi = "Margaret Whitfield 123-45-6789"
    calls: list[tuple[str, str, str, Any]] = [
        ("etl", "POST", "/v1/actions", action_body(**{"unknown_Margaret Whitfield": 1})),
        ("etl", "POST", "/v1/actions", action_body(ttl_seconds=phi)),
        ("etl", "POST", "/v1/actions", action_body(environment=phi)),
        ("etl", "POST", "/v1/actions", action_body(action=phi)),
        ("etl", "POST", "/v1/actions", action_body(on_behalf_of=phi)),
        ("etl", "POST", "/v1/actions", action_body(requester="Margaret Whitfield <>")),
        ("etl", "POST", "/v1/actions", action_body(tags=phi)),
        ("etl", "POST", "/v1/actions", action_body(tags=[phi] * 30)),
        ("etl", "POST", "/v1/actions", action_body(justification=phi + "\u0000")),
        ("etl", "POST", "/v1/actions", action_body(callback_url="https://hunter2@x.org/")),
        ("etl", "POST", "/v1/actions", action_body(callback_url=phi)),
        ("etl", "POST", "/v1/actions", [phi]),
        ("etl", "POST", "/v1/actions", '{"Margaret Whitfield": 1, "Margaret Whitfield": 2}'),
        ("etl", "POST", "/v1/actions", '{"action": "Margaret Whitfield 123-45-6789"'),
        ("bob", "POST", f"{action_path}/decisions", {"verdict": phi}),
        ("bob", "POST", f"{action_path}/decisions", {"verdict": "deny", phi: "x"}),
        ("bob", "POST", f"{action_path}/decisions", {"verdict": "deny", "reason": 7}),
        ("bob", "POST", "/v1/actions/Margaret Whitfield 123-45-6789/decisions", {}),
        ("bob", "GET", "/v1/actions/Margaret Whitfield 123-45-6789", None),
        ("bob", "GET", f"/v1/actions?status={phi}", None),
        ("bob", "GET", f"/v1/actions?cursor={phi}", None),
        ("bob", "GET", f"/v1/actions?limit={phi}", None),
        ("bob", "GET", f"{action_path}/wait?timeout={phi}", None),
        ("etl", "POST", f"{action_path}/executed", {"token": phi, "outcome": phi}),
        ("etl", "POST", f"{action_path}/executed", {"token": "x", "outcome": "failed", phi: 1}),
        ("auditor", "GET", f"/v1/audit/events?cursor={phi}", None),
        ("auditor", "GET", f"/v1/audit/events?from={phi}", None),
        ("auditor", "GET", f"/v1/reports/evidence?format={phi}", None),
    ]
    answers = []
    for who, method, path, body in calls:
        if isinstance(body, str):
            response = await _post_raw(api, path, body, who)
        else:
            response = await api.http.request(method, path, json=body, headers=api.auth(who))
        assert 400 <= response.status_code < 500, (path, response.text)
        answers.append(f"{method} {path} -> {response.status_code} {response.text}")
    logs = caplog.text + "\n".join(capsys.readouterr())
    for planted in PLANTED:
        for answer in answers:
            assert planted not in answer.split(" -> ", 1)[1], answer
        assert planted not in logs
    assert "unknown_" not in "\n".join(answers)


class TestClientIdentity:
    async def test_a_key_acts_as_the_one_spelling_of_its_identity(self, runtime: Runtime) -> None:
        created = await clients_service.create(
            runtime.db, name="ci", scopes=[Scope.REVIEW], identity="Carol <Carol\uff20Example.org>"
        )
        assert created.identity == "carol@example.org"

    async def test_a_key_for_something_that_is_no_identity_is_not_created(
        self, runtime: Runtime
    ) -> None:
        with pytest.raises(InvalidRequest, match="not a valid identity") as caught:
            await clients_service.create(
                runtime.db, name="ci", scopes=[Scope.REVIEW], identity="Margaret Whitfield"
            )
        assert "Margaret" not in str(caught.value)
