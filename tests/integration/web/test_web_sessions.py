"""Web sessions are server-side: the cookie is an opaque id, sessions expire when idle and
at their absolute limit, and end at sign-out, by an admin (API or CLI) or with their key."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from freezegun import freeze_time
from sqlalchemy import select
from typer.testing import CliRunner

from approvals.app import create_app
from approvals.audit.models import AuditEvent
from approvals.cli import app as cli
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.config import Settings
from approvals.identity.models import WebSession
from approvals.identity.service import hash_token
from approvals.kit.clock import utc_now
from approvals.runtime import Runtime
from tests.builders import ApiClient
from tests.conftest import _empty, make_settings

COOKIE = "approvals_session"
SIGNED_OUT = "Sign in to review"


async def _sign_in(api: ApiClient, who: str = "bob") -> str:
    response = await api.http.post("/ui/login", data={"api_key": api.keys[who]})
    assert response.status_code == 303, response.text
    token = api.http.cookies.get(COOKIE)
    assert token
    return token


async def _shows_queue(api: ApiClient, token: str) -> bool:
    api.http.cookies.set(COOKIE, token)  # what a copied cookie (or the same browser) sends
    page = await api.http.get("/ui")
    return SIGNED_OUT not in page.text and "bob@example.org" in page.text


class TestCookie:
    async def test_cookie_is_an_opaque_id_stored_only_as_a_hash(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        response = await api.http.post("/ui/login", data={"api_key": api.keys["bob"]})
        cookie = response.headers["set-cookie"]
        token = api.http.cookies[COOKIE]
        assert api.keys["bob"] not in cookie and not token.startswith("apk_")
        assert len(token) >= 40
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/ui" in cookie
        assert "Secure" not in cookie  # development over plain http: a browser would drop it
        async with runtime.db() as session:
            (row,) = (await session.execute(select(WebSession))).scalars()
        assert row.token_hash == hash_token(token) != token
        assert (row.identity, row.method) == ("bob@example.org", "api_key")

    async def test_secure_behind_a_trusted_proxy_that_forwards_https(
        self, runtime: Runtime, api: ApiClient
    ) -> None:
        trusting = runtime.settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
        app = create_app(trusting, runtime=runtime)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://approvals.test") as h:
            forwarded = await h.post(
                "/ui/login",
                data={"api_key": api.keys["bob"]},
                headers={"X-Forwarded-Proto": "https"},
            )
        assert "Secure" in forwarded.headers["set-cookie"]

    async def test_forwarded_https_from_an_untrusted_address_is_ignored(
        self, runtime: Runtime, api: ApiClient
    ) -> None:
        trusting = runtime.settings.model_copy(update={"trusted_proxies": "10.0.0.0/8"})
        app = create_app(trusting, runtime=runtime)
        transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://approvals.test") as h:
            forged = await h.post(
                "/ui/login",
                data={"api_key": api.keys["bob"]},
                headers={"X-Forwarded-Proto": "https"},
            )
        assert "Secure" not in forged.headers["set-cookie"]


class TestExpiry:
    async def test_idle_session_ends(self, api: ApiClient) -> None:
        token = await _sign_in(api)
        with freeze_time(utc_now() + timedelta(minutes=20)):
            assert await _shows_queue(api, token)  # activity resets the idle clock
        with freeze_time(utc_now() + timedelta(minutes=45)):
            assert await _shows_queue(api, token)
        with freeze_time(utc_now() + timedelta(minutes=45 + 31)):
            assert not await _shows_queue(api, token)

    async def test_absolute_limit_ends_even_a_busy_session(self, api: ApiClient) -> None:
        token = await _sign_in(api)
        start = utc_now()
        for minutes in range(25, 12 * 60, 25):  # a request every 25 minutes for 12 hours
            with freeze_time(start + timedelta(minutes=minutes)):
                alive = await _shows_queue(api, token)
            assert alive is (minutes < 12 * 60)
        with freeze_time(start + timedelta(hours=12, seconds=1)):
            assert not await _shows_queue(api, token)


class TestRevocation:
    async def test_sign_out_ends_the_session_server_side(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        token = await _sign_in(api)
        out = await api.http.post("/ui/logout")
        assert out.status_code == 303
        assert not await _shows_queue(api, token)  # a copy of the old cookie is worthless
        async with runtime.db() as session:
            kinds = [
                e.event_type
                for e in (
                    await session.execute(select(AuditEvent).order_by(AuditEvent.id))
                ).scalars()
            ]
        assert kinds[-2:] == ["signed_in", "session_signed_out"]

    async def test_admin_ends_a_persons_sessions_through_the_api(self, api: ApiClient) -> None:
        token = await _sign_in(api)
        listed = await api.http.get("/v1/sessions", headers=api.auth("admin"))
        assert [s["identity"] for s in listed.json()] == ["bob@example.org"]
        assert (await api.http.get("/v1/sessions", headers=api.auth("bob"))).status_code == 403
        ended = await api.http.delete(
            "/v1/sessions", params={"identity": "Bob@Example.org"}, headers=api.auth("admin")
        )
        assert ended.json() == {"revoked": 1}
        assert not await _shows_queue(api, token)
        again = await api.http.delete(
            f"/v1/sessions/{listed.json()[0]['id']}", headers=api.auth("admin")
        )
        assert again.status_code == 404

    async def test_admin_ends_a_session_with_the_cli_naming_the_operator(
        self, api: ApiClient, runtime: Runtime, database_url: str, tmp_path: Path
    ) -> None:
        token = await _sign_in(api)
        env = {"APPROVALS_DATABASE_URL": database_url, "APPROVALS_DATA_DIR": str(tmp_path)}
        runner = CliRunner()
        listed = await asyncio.to_thread(
            runner.invoke, cli, ["sessions", "list", "--json"], env=env
        )
        (row,) = json.loads(listed.stdout)
        revoked = await asyncio.to_thread(
            runner.invoke,
            cli,
            ["sessions", "revoke", row["id"], "--operator", "ops@example.org", "--json"],
            env=env,
        )
        assert revoked.exit_code == 0, revoked.stderr
        assert json.loads(revoked.stdout) == {"revoked": 1}
        assert not await _shows_queue(api, token)
        async with runtime.db() as session:
            event = (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.event_type == "session_revoked")
                )
            ).scalar_one()
        assert event.actor == "ops@example.org"

    async def test_revoking_the_key_ends_its_development_session(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        token = await _sign_in(api)
        await clients_service.revoke(runtime.db, "bob", actor="ops@example.org")
        assert not await _shows_queue(api, token)


@asynccontextmanager
async def _production(
    database_url: str, tmp_path: Path, **overrides: object
) -> AsyncIterator[ApiClient]:
    settings: Settings = make_settings(
        database_url,
        tmp_path,
        environment="production",
        secret_key=secrets.token_hex(32),  # production refuses to start without a real one
        **overrides,
    )
    runtime = Runtime(settings)
    await _empty(runtime)
    created = await clients_service.create(
        runtime.db, name="bob", scopes=[Scope.REVIEW], identity="bob@example.org"
    )
    transport = httpx.ASGITransport(app=create_app(settings, runtime=runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://approvals.test") as h:
            yield ApiClient(h, {"bob": created.api_key}, runtime)
    finally:
        await runtime.close()


class TestProduction:
    async def test_api_key_sign_in_is_refused_in_production(
        self, database_url: str, tmp_path: Path
    ) -> None:
        async with _production(database_url, tmp_path) as api:
            response = await api.http.post("/ui/login", data={"api_key": api.keys["bob"]})
        assert response.status_code == 403
        assert "use single sign-on" in response.text
        assert "set-cookie" not in response.headers

    async def test_enabled_explicitly_it_works_and_the_cookie_is_secure(
        self, database_url: str, tmp_path: Path
    ) -> None:
        async with _production(database_url, tmp_path, web_key_login=True) as api:
            response = await api.http.post("/ui/login", data={"api_key": api.keys["bob"]})
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]
