"""Approve → token minted once → signed callback → executed with the token, once.

Real PostgreSQL, the real release job (in-process queue), a loopback callback receiver.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from approvals.app import create_app
from approvals.audit import service as audit_service
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.jobs import reconciler
from approvals.release.models import ReleaseToken
from approvals.release.tokens import InvalidReleaseToken, verify_release_token
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle
from tests.conftest import _empty, make_settings
from tests.fakes.callback_receiver import CallbackReceiver

CLIENT_IDS: dict[str, str] = {}  # name → client id of the current test's clients


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as server:
        yield server


@pytest.fixture
async def world(
    postgres_url: str, tmp_path: Path, receiver: CallbackReceiver
) -> AsyncIterator[tuple[Runtime, ApiClient]]:
    settings = make_settings(postgres_url, tmp_path, callback_allow_addresses="127.0.0.1")
    runtime = Runtime(settings)
    await _empty(runtime)
    keys, ids = {}, {}
    for name, scope, identity, hosts in [
        ("etl", Scope.SUBMIT, "svc:etl", ["127.0.0.1"]),
        ("other", Scope.SUBMIT, "svc:other", ["127.0.0.1"]),
        ("bob", Scope.REVIEW, "bob@example.org", []),
    ]:
        created = await clients_service.create(
            runtime.db, name=name, scopes=[scope], identity=identity, callback_hosts=hosts
        )
        keys[name], ids[name] = created.api_key, created.client_id
        if name == "etl":
            receiver.secret = created.webhook_secret
    app = create_app(settings, runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://approvals.test"
    ) as http:
        CLIENT_IDS.clear()
        CLIENT_IDS.update(ids)
        yield runtime, ApiClient(http, keys, runtime)
    await runtime.close()


async def _approved(api: ApiClient, receiver: CallbackReceiver) -> dict:
    created = await api.create(callback_url=receiver.url)
    assert (await api.decide("bob", created["id"], "approve")).status_code == 200
    await settle(api.runtime)
    return created


async def _retry_due(runtime: Runtime, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await reconciler.tick(runtime, runtime.queue, lease_seconds=60)
    await settle(runtime)


async def test_release_token_is_minted_once_delivered_signed_and_verifies_offline(
    world, receiver: CallbackReceiver
) -> None:
    runtime, api = world
    created = await _approved(api, receiver)
    state = (await api.get("etl", created["id"])).json()
    assert state["status"] == "released"
    assert state["verdict"] == "approved"
    token = state["release_token"]
    (delivery,) = receiver.deliveries
    assert delivery.signature_ok
    assert delivery.json["release_token"] == token
    assert delivery.json["type"] == "action.released"
    assert delivery.headers["X-Approvals-Delivery"] == delivery.json["id"]
    jwks = (await api.http.get("/v1/keys")).json()
    claims = verify_release_token(
        token,
        jwks,
        issuer=runtime.settings.base_url,
        audience=CLIENT_IDS["etl"],
        expected_digest=state["payload_digest"],
    )
    assert claims.action_id == created["id"]
    assert claims.approvers == ("bob@example.org",)
    with pytest.raises(InvalidReleaseToken):
        verify_release_token(
            token,
            jwks,
            issuer=runtime.settings.base_url,
            audience=CLIENT_IDS["etl"],
            expected_digest="sha256:" + "0" * 64,
        )
    assert (await api.get("bob", created["id"])).json()["release_token"] is None  # not theirs
    await reconciler.tick(runtime, runtime.queue, lease_seconds=60)  # a duplicate run: no-op
    await settle(runtime)
    async with runtime.db() as session:
        minted = await session.execute(select(func.count()).select_from(ReleaseToken))
        assert minted.scalar_one() == 1
        assert await audit_service.verify_all(session) is None
    assert len(receiver.deliveries) == 1


async def test_executed_with_the_token_works_once(world, receiver: CallbackReceiver) -> None:
    _, api = world
    created = await _approved(api, receiver)
    token = (await api.get("etl", created["id"])).json()["release_token"]
    report = {"token": token, "outcome": "succeeded", "detail": "1 row deleted"}
    url = f"/v1/actions/{created['id']}/executed"
    first = await api.http.post(url, json=report, headers=api.auth("etl"))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "executed"
    again = await api.http.post(url, json=report, headers=api.auth("etl"))
    assert again.status_code == 409
    assert "already used" in again.json()["detail"]


async def test_a_tampered_or_foreign_token_is_refused(world, receiver: CallbackReceiver) -> None:
    _, api = world
    created = await _approved(api, receiver)
    token = (await api.get("etl", created["id"])).json()["release_token"]
    url = f"/v1/actions/{created['id']}/executed"
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    bad = await api.http.post(
        url, json={"token": forged, "outcome": "succeeded"}, headers=api.auth("etl")
    )
    assert bad.status_code == 403
    foreign = await api.http.post(
        url, json={"token": token, "outcome": "succeeded"}, headers=api.auth("other")
    )
    assert foreign.status_code == 403
    assert "not valid" in foreign.json()["detail"]


async def test_receiver_errors_are_retried_with_the_same_delivery_id(
    world, receiver: CallbackReceiver
) -> None:
    runtime, api = world
    receiver.answer(500, 503, retry_after=1)
    created = await _approved(api, receiver)
    for _ in range(2):
        await _retry_due(runtime, 1.2)
    ids = {d.headers["X-Approvals-Delivery"] for d in receiver.deliveries}
    assert len(receiver.deliveries) == 3
    assert len(ids) == 1
    state = (await api.get("etl", created["id"])).json()
    assert [(c["state"], c["attempts"], c["last_status"]) for c in state["callbacks"]] == [
        ("delivered", 3, 200)
    ]
    async with runtime.db() as session:
        kinds = [e.event_type for e in await audit_service.events_for(session, created["id"])]
    assert kinds.count("callback_delivered") == 1


async def test_a_refusing_receiver_is_dead_lettered_in_the_audit_trail(
    world, receiver: CallbackReceiver
) -> None:
    runtime, api = world
    receiver.answer(410)
    created = await _approved(api, receiver)
    state = (await api.get("etl", created["id"])).json()
    assert [(c["state"], c["last_status"]) for c in state["callbacks"]] == [("dead", 410)]
    async with runtime.db() as session:
        events = await audit_service.events_for(session, created["id"])
    failed = [e for e in events if e.event_type == "callback_failed"]
    assert len(failed) == 1
    assert failed[0].payload["status"] == 410


async def test_a_denial_reaches_the_requester_with_its_reason(
    world, receiver: CallbackReceiver
) -> None:
    _, api = world
    created = await api.create(callback_url=receiver.url)
    await api.decide("bob", created["id"], "deny", "use the de-identified view")
    await settle(api.runtime)
    (delivery,) = receiver.deliveries
    assert delivery.signature_ok
    assert delivery.json["type"] == "action.rejected"
    assert delivery.json["reason"] == "use the de-identified view"
    assert delivery.json["release_token"] is None


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/h",
        "http://localhost/hook",
        "https://evil.example.org/hook",
    ],
)
async def test_callback_destinations_outside_the_rules_are_422_at_intake(world, url: str) -> None:
    _, api = world
    response = await api.submit(callback_url=url)
    assert response.status_code == 422
    assert "callback_url" in response.json()["detail"]


@pytest.mark.parametrize(
    "url", ["http://localhost:9/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest"]
)
async def test_allowlisted_hosts_that_resolve_private_are_still_refused(
    postgres_url: str, tmp_path: Path, url: str
) -> None:
    runtime = Runtime(make_settings(postgres_url, tmp_path))  # no private address allowed
    await _empty(runtime)
    created = await clients_service.create(
        runtime.db,
        name="etl",
        scopes=[Scope.SUBMIT],
        identity="svc:etl",
        callback_hosts=["localhost", "10.0.0.1", "169.254.169.254"],
    )
    app = create_app(runtime.settings, runtime=runtime)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            response = await ApiClient(http, {"etl": created.api_key}).submit(callback_url=url)
        assert response.status_code == 422
        assert "refused" in response.json()["detail"]
    finally:
        await runtime.close()


async def test_a_redirect_to_a_private_address_is_not_followed(
    world, receiver: CallbackReceiver
) -> None:
    runtime, api = world
    with CallbackReceiver() as trap:  # where the redirect points; must never be reached
        receiver.script.append((302, {"Location": trap.url.replace("127.0.0.1", "10.0.0.1")}))
        created = await _approved(api, receiver)
        assert trap.deliveries == []
    state = (await api.get("etl", created["id"])).json()
    assert [(c["state"], c["last_status"]) for c in state["callbacks"]] == [("dead", 302)]
    async with runtime.db() as session:
        events = await audit_service.events_for(session, created["id"])
    assert [e.payload["status"] for e in events if e.event_type == "callback_failed"] == [302]


async def test_callbacks_share_one_tls_context_that_still_verifies_certificates(world) -> None:
    runtime, _ = world
    context = runtime.callback_tls
    assert context is runtime.callback_tls  # built once: loading the CA list costs ~14 ms
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
