"""Server-rendered reviewer pages under /ui.

Sign-in is single sign-on (OpenID Connect, `sso.py`) or, in development, an API key with the
`review` (or `audit`) scope; either opens a server-side session (`session.py`) whose opaque id
is the cookie, and every form carries a CSRF token bound to that session. Everything
shown is the stored, redacted form of a request, and Jinja2 autoescapes it. Every /ui
response carries a strict Content-Security-Policy: styles only from /ui/static/app.css, and no
script except /ui/static/passkeys.js on the pages that run a passkey ceremony (`pages.csp`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from approvals.actions import decisions
from approvals.actions import service as actions_service
from approvals.actions.states import Status
from approvals.api.deps import RuntimeDep
from approvals.audit import api as audit_api
from approvals.audit import render
from approvals.audit.render import Format, PdfUnavailable
from approvals.channels.review import can_vote
from approvals.channels.web import passkeys, queries, sso
from approvals.channels.web.pages import SecureRoute, csp, error_page, login_page, page
from approvals.channels.web.session import (
    SessionToken,
    clear_cookie,
    form_viewer,
    set_cookie,
    viewer,
)
from approvals.clients import service as clients_service
from approvals.clients.auth import has_scope
from approvals.clients.schemas import Scope
from approvals.errors import ApprovalsError
from approvals.identity import service as identity_service
from approvals.kit.clock import utc_now
from approvals.policy.decision import StepUp

router = APIRouter(prefix="/ui", include_in_schema=False, route_class=SecureRoute)
router.include_router(sso.router)
router.include_router(passkeys.router)
_HERE = Path(__file__).parent


@router.get("/static/app.css")
async def stylesheet() -> Response:
    return FileResponse(
        _HERE / "static" / "app.css",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/static/passkeys.js")
async def passkeys_script() -> Response:
    return FileResponse(
        _HERE / "static" / "passkeys.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("", response_class=HTMLResponse)
async def index(
    request: Request, runtime: RuntimeDep, token: SessionToken = None, notice: str | None = None
) -> Response:
    me = await viewer(runtime, token)
    if me is None:
        return login_page(request)
    who = me.client
    pending = await actions_service.list_page(
        runtime, who, status=Status.PENDING, cursor=None, limit=200
    )
    mine = [a for a in pending.items if can_vote(a, who.identity, runtime.policies)]
    return page(
        request,
        "index.html",
        who,
        notice=notice,
        mine=mine,
        others=[a for a in pending.items if a not in mine],
    )


@router.post("/login")
async def login(
    request: Request, runtime: RuntimeDep, api_key: Annotated[str, Form(max_length=200)]
) -> Response:
    """Development sign-in with an API key; production refuses it unless enabled."""
    settings = runtime.settings
    if not settings.key_login_allowed:
        return login_page(
            request,
            "Signing in with an API key is turned off here; use single sign-on.",
            403,
        )
    client = await clients_service.authenticate(runtime.db, api_key.strip())
    if client is None or not (has_scope(client, Scope.REVIEW) or has_scope(client, Scope.AUDIT)):
        return login_page(request, "That key is unknown, revoked, or lacks the review scope.", 401)
    opened = await identity_service.open_session(
        runtime.db,
        identity_service.limits(settings),
        identity=client.identity,
        method="api_key",
        scopes=list(client.scopes),
        client_id=client.id,
    )
    response = RedirectResponse("/ui", status_code=303)
    set_cookie(response, request, settings, opened.token)
    return response


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep, token: SessionToken = None) -> Response:
    await identity_service.close(runtime.db, token)
    response = RedirectResponse("/ui", status_code=303)
    clear_cookie(response, request, runtime.settings)
    return response


@router.get("/history", response_class=HTMLResponse)
async def history(
    request: Request,
    runtime: RuntimeDep,
    token: SessionToken = None,
    status: Annotated[str, Query(max_length=20)] = "",
    action: Annotated[str, Query(max_length=200)] = "",
    before: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    me = await viewer(runtime, token)
    if me is None:
        return login_page(request)
    who = me.client
    chosen = status if status in queries.LABELS else None
    found = await queries.history(
        runtime, shown=chosen, action=action.strip() or None, before_id=before or None
    )
    return page(
        request,
        "history.html",
        who,
        items=found.items,
        next_cursor=found.next_cursor,
        statuses=queries.LABELS,
        status=chosen or "",
        action=action,
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit(request: Request, runtime: RuntimeDep, token: SessionToken = None) -> Response:
    me = await viewer(runtime, token)
    if me is None:
        return login_page(request)
    who = me.client
    chain = await audit_api.chain_status(runtime)
    today = utc_now().date()
    return page(
        request,
        "audit.html",
        who,
        chain=chain,
        default_from=today.replace(day=1).isoformat(),
        default_to=(today + timedelta(days=1)).isoformat(),
    )


@router.get("/reports/evidence")
async def evidence(
    request: Request,
    runtime: RuntimeDep,
    token: SessionToken = None,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    fmt: Annotated[Format, Query(alias="format")] = Format.HTML,
) -> Response:
    """The evidence report for a signed-in auditor (the browser has a cookie, not a bearer)."""
    me = await viewer(runtime, token)
    if me is None:
        return login_page(request)
    who = me.client
    if not has_scope(who, Scope.AUDIT):
        return error_page(request, who, "Evidence reports need a key with the audit scope.", 403)
    try:
        first, last = audit_api.period(start, end)
        report = await audit_api.evidence(runtime, first, last)
        # PDF rendering takes seconds of CPU: keep it off the event loop.
        body, media_type = await asyncio.to_thread(audit_api.render_report, report, fmt)
    except (ApprovalsError, PdfUnavailable) as exc:
        return error_page(request, who, getattr(exc, "detail", str(exc)), 422)
    name = f"evidence-{first:%Y%m%d}-{last:%Y%m%d}.{fmt.value}"
    disposition = "inline" if fmt is Format.HTML else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{name}"'}
    if fmt is Format.HTML:
        headers["Content-Security-Policy"] = render.HTML_CSP
    return Response(body, media_type=media_type, headers=headers)


@router.get("/actions/{action_id}", response_class=HTMLResponse)
async def detail(
    request: Request,
    action_id: str,
    runtime: RuntimeDep,
    token: SessionToken = None,
    notice: str | None = None,
) -> Response:
    me = await viewer(runtime, token)
    if me is None:
        return login_page(request)
    who = me.client
    try:
        action = await actions_service.get(runtime, action_id, who)
    except ApprovalsError as exc:
        return error_page(request, who, exc.detail, exc.status)
    needed = StepUp(action.step_up) if action.step_up else None
    response = page(
        request,
        "detail.html",
        who,
        action=action,
        notice=notice,
        csrf=me.csrf,
        for_me=can_vote(action, who.identity, runtime.policies),
        step_up_words=needed.words if needed else "",
        step_up_oidc=needed is not None and needed.accepts("oidc") and runtime.sso is not None,
        step_up_passkey=needed is not None and needed.accepts("passkey"),
    )
    # Step-up widens this page's CSP just enough: the form may lead to the provider, and the
    # passkey button runs our one script.
    response.headers["Content-Security-Policy"] = csp(
        scripts=needed is not None and needed.accepts("passkey"),
        provider=runtime.sso.issuer if runtime.sso is not None else None,
    )
    return response


@router.post("/actions/{action_id}/decide")
async def decide(
    request: Request,
    action_id: str,
    runtime: RuntimeDep,
    verdict: Annotated[str, Form(pattern="^(approve|deny)$")],
    csrf: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    token: SessionToken = None,
) -> Response:
    me = await form_viewer(request, runtime, token, csrf)
    if isinstance(me, Response):
        return me
    who = me.client
    if not has_scope(who, Scope.REVIEW):
        return error_page(request, who, "Deciding needs a key with the review scope.", 403)
    if verdict == "deny" and not reason.strip():
        notice = "A deny needs a reason: the requester is told why."
    else:
        try:
            result = await decisions.decide(
                runtime,
                action_id,
                approver=who.identity,
                verdict=verdict,
                reason=reason or None,
                platform="web",
                auth=me.session.method,
            )
            notice = f"Recorded. The request is now {result.status.value}."
        except ApprovalsError as exc:
            notice = f"Not recorded: {exc.detail}."
    return RedirectResponse(f"/ui/actions/{action_id}?notice={quote(notice)}", status_code=303)
