"""Single sign-on for the web page: /ui/auth/login sends the browser to the provider,
/ui/auth/callback checks what comes back (approvals.identity.oidc) and opens a session.

Step-up by fresh sign-in: POST /ui/actions/{id}/step-up (a CSRF-checked form) sends the
signed-in reviewer to the provider with `prompt=login&max_age=0`; the callback counts the
approval only if the same person authenticated again, after the step-up began, and within
`step_up_max_age_seconds`, in the browser session that asked.

The state is also kept in a short-lived cookie on /ui/auth, so only the browser that started a
sign-in can finish it (no login CSRF); Lax lets it ride the provider's top-level redirect.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

from fastapi import APIRouter, Cookie, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from approvals.actions import decisions
from approvals.api.deps import RuntimeDep
from approvals.channels.web.pages import (
    SecureRoute,
    error_page,
    login_page,
    settings_of,
)
from approvals.channels.web.session import (
    SessionToken,
    form_viewer,
    secure_cookie,
    set_cookie,
    viewer,
)
from approvals.clients.schemas import Scope
from approvals.config import Settings, comma_list
from approvals.errors import ApprovalsError, Unavailable
from approvals.identity import links
from approvals.identity import service as identity_service
from approvals.identity.oidc import ATTEMPT_TTL, SignedIn
from approvals.kit.clock import utc_now

if TYPE_CHECKING:
    from approvals.runtime import Runtime

STATE_COOKIE = "approvals_sign_in"
STATE_PATH = "/ui/auth"
_ACTION_PAGE = re.compile(r"^/ui/actions/([0-9A-Za-z_-]{1,64})$")

router = APIRouter(route_class=SecureRoute)


def callback_url(settings: Settings) -> str:
    """The redirect URI to register with the provider."""
    return f"{settings.base_url}/ui/auth/callback"


def safe_next(path: str | None) -> str:
    """Only our own pages: never an absolute or protocol-relative URL (no open redirect)."""
    if not path or not path.startswith("/ui") or path.startswith("//") or "\\" in path:
        return "/ui"
    return path[:500]


@router.get("/auth/login")
async def start(
    request: Request,
    runtime: RuntimeDep,
    next_path: Annotated[str | None, Query(alias="next", max_length=500)] = None,
) -> Response:
    if runtime.sso is None:
        return login_page(request, "Single sign-on is not configured on this server.", 404)
    try:
        url, state = await runtime.sso.start(
            runtime.db, redirect_uri=callback_url(runtime.settings), next_path=safe_next(next_path)
        )
    except Unavailable as exc:
        return login_page(request, f"Sign-in is unavailable: {exc.detail}.", 503)
    return _to_provider(request, runtime.settings, url, state)


def _to_provider(request: Request, settings: Settings, url: str, state: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        state,
        httponly=True,
        samesite="lax",
        secure=secure_cookie(request, settings),
        max_age=int(ATTEMPT_TTL.total_seconds()),
        path=STATE_PATH,
    )
    return response


@router.get("/step-up/{link}")
async def chat_link(
    request: Request,
    link: Annotated[str, Path(max_length=100)],
    runtime: RuntimeDep,
    token: SessionToken = None,
) -> Response:
    """A chat Approve click's link: sign in first (the link waits), then it is spent."""
    me = await viewer(runtime, token)
    if me is None:
        return login_page(request, "Sign in to continue to the request you approved in chat.")
    try:
        target = await links.redeem(runtime.db, link, identity=me.session.identity)
    except ApprovalsError as exc:
        return error_page(request, me.client, exc.detail[:1].upper() + exc.detail[1:] + ".", 403)
    return RedirectResponse(target, status_code=303)


@router.post("/actions/{action_id}/step-up")
async def start_step_up(
    request: Request,
    action_id: Annotated[str, Path(max_length=64)],
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=64)] = "",
    token: SessionToken = None,
) -> Response:
    me = await form_viewer(request, runtime, token, csrf)
    if isinstance(me, Response):
        return me
    if runtime.sso is None:
        return error_page(request, me.client, "Single sign-on is not configured here.", 404)
    try:
        url, state = await runtime.sso.start(
            runtime.db,
            redirect_uri=callback_url(runtime.settings),
            next_path=f"/ui/actions/{action_id}",
            purpose="step_up",
            session_id=me.session.id,
            fresh=True,
        )
    except Unavailable as exc:
        return error_page(request, me.client, f"Step-up is unavailable: {exc.detail}.", 503)
    return _to_provider(request, runtime.settings, url, state)


@router.get("/auth/callback")
async def callback(
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
    browser_state: Annotated[str | None, Cookie(alias=STATE_COOKIE)] = None,
    token: SessionToken = None,
) -> Response:
    if runtime.sso is None:
        return login_page(request, "Single sign-on is not configured on this server.", 404)
    if error or not code or not state:
        return _refused(request, "The provider did not complete the sign-in; try again.", 401)
    try:
        signed = await runtime.sso.finish(
            runtime.db,
            state=state,
            browser_state=browser_state,
            code=code,
            redirect_uri=callback_url(runtime.settings),
        )
    except ApprovalsError as exc:
        return _refused(request, f"Sign-in refused: {exc.detail}.", exc.status)
    if signed.purpose == "step_up":
        return await _finish_step_up(request, runtime, signed, token)
    opened = await identity_service.open_session(
        runtime.db,
        identity_service.limits(runtime.settings),
        identity=signed.identity,
        method="sso",
        scopes=_scopes(signed, runtime.settings),
        groups=signed.groups,
        issuer=signed.issuer,
        authenticated_at=signed.authenticated_at,
    )
    response = RedirectResponse(signed.next_path, status_code=303)
    set_cookie(response, request, runtime.settings, opened.token)
    _forget_state(response, request)
    return response


async def _finish_step_up(
    request: Request, runtime: Runtime, signed: SignedIn, token: str | None
) -> Response:
    me = await viewer(runtime, token)
    found = _ACTION_PAGE.match(signed.next_path)
    if me is None or found is None or me.session.id != signed.session_id:
        return _refused(request, "Step-up refused: your session ended meanwhile.", 401)
    action_id = found.group(1)
    fresh_since = signed.started_at - timedelta(seconds=5)
    limit = timedelta(seconds=runtime.settings.step_up_max_age_seconds)
    if signed.identity != me.session.identity:
        notice = (
            f"Not recorded: the provider signed in {signed.identity}, not you "
            f"({me.session.identity}); step-up must be the same person."
        )
    elif signed.authenticated_at < fresh_since or utc_now() - signed.authenticated_at > limit:
        notice = "Not recorded: the provider did not ask you to sign in again; try once more."
    else:
        try:
            result = await decisions.decide(
                runtime,
                action_id,
                approver=me.session.identity,
                verdict="approve",
                reason=None,
                platform="web",
                stepped_up="oidc",
                auth=me.session.method,
            )
            notice = f"Recorded with a fresh sign-in. The request is now {result.status.value}."
        except ApprovalsError as exc:
            notice = f"Not recorded: {exc.detail}."
    response = RedirectResponse(f"/ui/actions/{action_id}?notice={quote(notice)}", status_code=303)
    _forget_state(response, request)
    return response


def _scopes(signed: SignedIn, settings: Settings) -> list[str]:
    """Every signed-in person may review (the policy decides on what); audit by group."""
    audit_groups = set(comma_list(settings.oidc_audit_groups))
    scopes = [Scope.REVIEW.value]
    if audit_groups & set(signed.groups):
        scopes.append(Scope.AUDIT.value)
    return scopes


def _refused(request: Request, message: str, status_code: int) -> Response:
    response = login_page(request, message, status_code)
    _forget_state(response, request)
    return response


def _forget_state(response: Response, request: Request) -> None:
    response.delete_cookie(
        STATE_COOKIE,
        path=STATE_PATH,
        secure=secure_cookie(request, settings_of(request)),
        httponly=True,
        samesite="lax",
    )
