"""Who is looking at a /ui page: the session cookie, and the reviewer behind it.

The cookie holds an opaque random id (never a key); the identity service keeps its hash with
idle and absolute expiry. Cookie: HttpOnly, SameSite=Lax (so the single sign-on redirect and
a link from chat arrive signed in; state-changing requests are POST forms with a CSRF token),
Secure in production and whenever the request came over https, which behind a proxy means
X-Forwarded-Proto from a configured trusted proxy (`ProxyHeadersMiddleware` in create_app).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Cookie, Request, Response

from approvals.api.deps import RuntimeDep
from approvals.channels.web.pages import error_page, login_page
from approvals.clients.auth import has_scope
from approvals.clients.models import Client
from approvals.clients.schemas import Scope
from approvals.config import Settings
from approvals.identity import service as identity_service
from approvals.identity.models import WebSession
from approvals.identity.service import limits

COOKIE = "approvals_session"
COOKIE_PATH = "/ui"

SessionToken = Annotated[str | None, Cookie(alias=COOKIE)]


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in reviewer: the client the pages reason about, its session and CSRF token."""

    client: Client
    session: WebSession
    csrf: str

    def sent_csrf(self, sent: str | None) -> bool:
        """Whether a form or header carried this session's CSRF token (constant-time)."""
        return bool(sent) and hmac.compare_digest(sent or "", self.csrf)


async def form_viewer(
    request: Request, runtime: RuntimeDep, token: str | None, csrf: str
) -> Viewer | Response:
    """The reviewer behind a state-changing form, or the page that says why the form is
    refused: signed out (401, the sign-in page) or a form without this session's CSRF token
    (403: it expired with its session, or another site sent it)."""
    me = await viewer(runtime, token)
    if me is None:
        return login_page(request, "Sign in again, then send the form again.", 401)
    if not me.sent_csrf(csrf):
        return error_page(
            request, me.client, "This form expired or came from another site; reload it.", 403
        )
    return me


def csrf_token(token: str) -> str:
    """Bound to the session: a form from another session (or site) does not carry it."""
    return hashlib.sha256(b"approvals-csrf:" + token.encode()).hexdigest()[:32]


async def viewer(runtime: RuntimeDep, token: str | None) -> Viewer | None:
    found = await identity_service.find(runtime.db, limits(runtime.settings), token)
    if found is None or token is None:
        return None
    client = found.client or _session_client(found.session)
    if not (has_scope(client, Scope.REVIEW) or has_scope(client, Scope.AUDIT)):
        return None
    return Viewer(client, found.session, csrf_token(token))


def _session_client(row: WebSession) -> Client:
    """A single sign-on reviewer as the pages' Client: never stored, holds no key."""
    return Client(
        id=f"session:{row.id}",
        name=row.identity,
        identity=row.identity,
        scopes=list(row.scopes),
        key_hash="",
        key_prefix="",
        callback_hosts=[],
        webhook_secret=None,
        created_at=row.created_at,
        revoked_at=None,
    )


def secure_cookie(request: Request, settings: Settings) -> bool:
    if settings.session_cookie_secure is not None:
        return settings.session_cookie_secure
    return settings.is_production or request.url.scheme == "https"


def set_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookie(request, settings),
        max_age=settings.session_max_hours * 3600,
        path=COOKIE_PATH,
    )


def clear_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        secure=secure_cookie(request, settings),
        httponly=True,
        samesite="lax",
    )
