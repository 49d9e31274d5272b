"""Single sign-on for the web page: /ui/auth/login sends the browser to the provider,
/ui/auth/callback checks what comes back (approvals.identity.oidc) and opens a session.

The state is also kept in a short-lived cookie on /ui/auth, so only the browser that started a
sign-in can finish it (no login CSRF); Lax lets it ride the provider's top-level redirect.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Query, Request
from fastapi.responses import RedirectResponse, Response

from approvals.api.deps import RuntimeDep
from approvals.channels.web.pages import SecureRoute, login_page, settings_of
from approvals.channels.web.session import secure_cookie, set_cookie
from approvals.clients.schemas import Scope
from approvals.config import Settings
from approvals.errors import ApprovalsError, Unavailable
from approvals.identity import service as identity_service
from approvals.identity.oidc import ATTEMPT_TTL, SignedIn

STATE_COOKIE = "approvals_sign_in"
STATE_PATH = "/ui/auth"

router = APIRouter(prefix="/auth", route_class=SecureRoute)


def callback_url(settings: Settings) -> str:
    """The redirect URI to register with the provider."""
    return f"{settings.base_url}/ui/auth/callback"


def safe_next(path: str | None) -> str:
    """Only our own pages: never an absolute or protocol-relative URL (no open redirect)."""
    if not path or not path.startswith("/ui") or path.startswith("//") or "\\" in path:
        return "/ui"
    return path[:500]


@router.get("/login")
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
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        state,
        httponly=True,
        samesite="lax",
        secure=secure_cookie(request, runtime.settings),
        max_age=int(ATTEMPT_TTL.total_seconds()),
        path=STATE_PATH,
    )
    return response


@router.get("/callback")
async def callback(
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
    browser_state: Annotated[str | None, Cookie(alias=STATE_COOKIE)] = None,
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


def _scopes(signed: SignedIn, settings: Settings) -> list[str]:
    """Every signed-in person may review (the policy decides on what); audit by group."""
    audit_groups = {g.strip() for g in settings.oidc_audit_groups.split(",") if g.strip()}
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
