"""A request policy auto-approves is released by its submit: the 201 carries the one token.

Real PostgreSQL and SQLite, the real release job (in-process queue), a loopback callback
receiver. The crash-and-retry path with real Redis and a real worker is in
tests/integration/jobs/test_release_at_intake_rq.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from approvals.app import create_app
from approvals.audit import service as audit_service
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.kit.canonical import digest
from approvals.release.models import ReleaseToken
from approvals.release.tokens import InvalidReleaseToken, Reason, verify_release_token
from approvals.runtime import Runtime
from tests.builders import ApiClient, action_body, settle
from tests.conftest import _empty, make_settings
from tests.fakes.callback_receiver import CallbackReceiver
from tests.policies import dba_oncall_policy


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as server:
        yield server


@contextlib.asynccontextmanager
async def _world(
    database_url: str, tmp_path: Path, receiver: CallbackReceiver, **settings: Any
) -> AsyncIterator[tuple[Runtime, ApiClient, dict[str, str]]]:
    runtime = Runtime(
        make_settings(database_url, tmp_path, callback_allow_addresses="127.0.0.1", **settings)
    )
    await _empty(runtime)
    keys, ids = {}, {}
    for name, scope, identity, hosts in [
        ("etl", Scope.SUBMIT, "svc:etl", ["127.0.0.1"]),
        ("bob", Scope.REVIEW, "bob@example.org", []),
    ]:
        created = await clients_service.create(
            runtime.db, name=name, scopes=[scope], identity=identity, callback_hosts=hosts
        )
        keys[name], ids[name] = created.api_key, created.client_id
        if name == "etl":
            receiver.secret = created.webhook_secret
    app = create_app(runtime.settings, runtime=runtime)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://approvals.test"
        ) as http:
            yield runtime, ApiClient(http, keys, runtime), ids
    finally:
        await runtime.close()


@pytest.fixture
async def world(
    database_url: str, tmp_path: Path, receiver: CallbackReceiver
) -> AsyncIterator[tuple[Runtime, ApiClient, dict[str, str]]]:
    async with _world(database_url, tmp_path, receiver) as made:
        yield made


def _payload_digest(**overrides: Any) -> str:
    """What the agent computes from what it submitted (docs/release.md)."""
    body = action_body(environment="dev", **overrides)
    return digest(
        {"action": body["action"], "resource": body["resource"], "params": body["params"]}
    )


async def _token_rows(runtime: Runtime) -> list[ReleaseToken]:
    async with runtime.db() as session:
        return list((await session.execute(select(ReleaseToken))).scalars())


async def _events(runtime: Runtime, action_id: str) -> list[Any]:
    async with runtime.db() as session:
        return list(await audit_service.events_for(session, action_id))


class TestTheSubmitAnswer:
    async def test_carries_a_token_that_verifies_against_the_payload_and_the_keys(
        self, world
    ) -> None:
        runtime, api, ids = world
        created = await api.create(environment="dev")
        assert created["status"] == "auto_approved"
        token = created["release_token"]
        assert token
        assert created["release_expires_at"] is not None
        jwks = (await api.http.get("/v1/keys")).json()
        claims = verify_release_token(
            token,
            jwks,
            issuer=runtime.settings.base_url,
            audience=ids["etl"],
            expected_digest=_payload_digest(),
        )
        assert claims.action_id == created["id"]
        assert claims.payload_digest == created["payload_digest"]
        assert claims.approvers == (created["decided_by"],)  # policy:<rule>
        assert claims.expires_at.isoformat().replace("+00:00", "Z") == created[
            "release_expires_at"
        ].replace("+00:00", "Z")

    async def test_a_tampered_payload_or_token_fails_verification(self, world) -> None:
        runtime, api, ids = world
        token = (await api.create(environment="dev"))["release_token"]
        jwks = (await api.http.get("/v1/keys")).json()
        check = {"issuer": runtime.settings.base_url, "audience": ids["etl"]}
        other = _payload_digest(params={"sql": "DELETE FROM encounters"})
        with pytest.raises(InvalidReleaseToken) as wrong_payload:
            verify_release_token(token, jwks, expected_digest=other, **check)
        assert wrong_payload.value.reason is Reason.DIGEST_MISMATCH
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        with pytest.raises(InvalidReleaseToken) as bad_signature:
            verify_release_token(forged, jwks, expected_digest=_payload_digest(), **check)
        assert bad_signature.value.reason in (Reason.BAD_SIGNATURE, Reason.MALFORMED)

    async def test_a_request_that_needs_a_person_or_is_blocked_carries_none(self, world) -> None:
        runtime, api, _ = world
        pending = await api.create(environment="staging")
        blocked = await api.create(environment="prod", params={"sql": "DROP TABLE encounters"})
        assert (pending["status"], blocked["status"]) == ("pending", "blocked")
        assert pending["release_token"] is None
        assert blocked["release_token"] is None
        await settle(runtime)  # the blocked request's job rejects it: still no token
        assert (await api.get("etl", blocked["id"])).json()["status"] == "rejected"
        assert await _token_rows(runtime) == []

    async def test_matches_the_openapi_example(self, world) -> None:
        _, api, _ = world
        spec = (await api.http.get("/openapi.json")).json()
        answers = spec["paths"]["/v1/actions"]["post"]["responses"]["201"]["content"]
        example = answers["application/json"]["examples"]["auto_approved"]["value"]
        created = await api.create(environment="dev", resource="db.dev.scratch")
        assert set(example) <= set(created)  # the OpenAPI document leaves nulls out
        assert example["release_token"].startswith("eyJ")
        for field in ("status", "verdict", "decided_by", "risk", "callbacks"):
            assert example[field] == created[field], field
        assert example["policy"]["rule"] == created["policy"]["rule"]

    async def test_an_idempotent_replay_returns_the_same_token(self, world) -> None:
        runtime, api, _ = world
        first = await api.submit(key="deploy-42", environment="dev")
        again = await api.submit(key="deploy-42", environment="dev")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["release_token"] == first.json()["release_token"]
        await settle(runtime)
        later = await api.submit(key="deploy-42", environment="dev")  # once released, too
        assert later.json()["status"] == "released"
        assert later.json()["release_token"] == first.json()["release_token"]
        assert len(await _token_rows(runtime)) == 1


async def test_a_request_whose_approvers_must_step_up_carries_none(
    database_url: str, tmp_path: Path, receiver: CallbackReceiver
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(dba_oncall_policy("web", step_up="passkey"))
    async with _world(database_url, tmp_path, receiver, policy_file=policy) as (runtime, api, _):
        created = await api.create(environment="dev")
        assert created["status"] == "pending"
        assert created["step_up"] == "passkey"
        assert created["release_token"] is None
        await settle(runtime)
        assert await _token_rows(runtime) == []


class TestTheReleaseJobAfterAnAutoApproval:
    async def test_delivers_the_webhook_with_the_same_token_and_mints_no_other(
        self, world, receiver: CallbackReceiver
    ) -> None:
        runtime, api, _ = world
        created = await api.create(environment="dev", callback_url=receiver.url)
        token = created["release_token"]
        # Until the job runs, a read shows the request as the 201 did.
        early = (await api.get("etl", created["id"])).json()
        assert early["release_token"] == token
        await settle(runtime)
        state = (await api.get("etl", created["id"])).json()
        assert state["status"] == "released"
        assert state["release_token"] == token
        (delivery,) = receiver.deliveries
        assert delivery.signature_ok
        assert delivery.json["type"] == "action.released"
        assert delivery.json["release_token"] == token
        (row,) = await _token_rows(runtime)
        assert row.token == token
        events = await _events(runtime, created["id"])
        approved = next(e for e in events if e.event_type == "auto_approved")
        (released,) = [e for e in events if e.event_type == "released"]
        assert approved.actor == created["decided_by"]
        assert approved.payload["version"] == created["policy"]["version"]
        assert approved.payload["jti"] == released.payload["jti"] == row.jti
        assert released.payload["issued_at"] == approved.payload["issued_at"]
        async with runtime.db() as session:
            assert await audit_service.verify_all(session) is None

    async def test_wait_answers_with_the_same_token(self, world) -> None:
        _, api, _ = world
        created = await api.create(environment="dev")
        waited = await api.http.get(
            f"/v1/actions/{created['id']}/wait", params={"timeout": 30}, headers=api.auth("etl")
        )
        assert waited.status_code == 200
        assert waited.json()["release_token"] == created["release_token"]

    async def test_the_agent_may_report_executed_before_the_job_runs(
        self, world, receiver: CallbackReceiver
    ) -> None:
        """Whichever comes first, the release is recorded once and the callback sent once."""
        runtime, api, _ = world
        created = await api.create(environment="dev", callback_url=receiver.url)
        report = {"token": created["release_token"], "outcome": "succeeded"}
        done = await api.http.post(
            f"/v1/actions/{created['id']}/executed", json=report, headers=api.auth("etl")
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "executed"
        await settle(runtime)
        assert (await api.get("etl", created["id"])).json()["status"] == "executed"
        kinds = [e.event_type for e in await _events(runtime, created["id"])]
        assert (kinds.count("released"), kinds.count("executed")) == (1, 1)
        assert kinds.index("released") < kinds.index("executed")
        (delivery,) = receiver.deliveries
        assert delivery.json["release_token"] == created["release_token"]
        assert len(await _token_rows(runtime)) == 1
        async with runtime.db() as session:
            assert await audit_service.verify_all(session) is None
