"""Passkeys on the web page: a reviewer registers and removes their own (/ui/passkeys), and
confirms a step-up approval with one (/ui/actions/{id}/passkey). The ceremonies run in the
browser (static/passkeys.js, the page's only script); these JSON routes check the session's
CSRF token in a header and hand the WebAuthn work to approvals.identity.passkeys.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from approvals.actions import decisions
from approvals.api.deps import RuntimeDep
from approvals.channels.web.pages import SecureRoute, csp, error_page, login_page, page
from approvals.channels.web.session import SessionToken, Viewer, form_viewer, viewer
from approvals.errors import ApprovalsError, InvalidRequest
from approvals.identity import passkeys as passkeys_service
from approvals.identity.passkeys import RelyingParty

router = APIRouter(route_class=SecureRoute)
ActionId = Annotated[str, Path(max_length=64)]


def _rp(runtime: RuntimeDep) -> RelyingParty:
    return RelyingParty.from_url(runtime.settings.base_url)


def _refusal(exc: ApprovalsError) -> JSONResponse:
    return JSONResponse({"error": exc.code, "detail": exc.detail}, status_code=exc.status)


async def _caller(request: Request, runtime: RuntimeDep, token: str | None) -> Viewer:
    me = await viewer(runtime, token)
    if me is None:
        raise _Refused(401, "sign in again")
    sent = request.headers.get("x-csrf-token", "")
    if not me.sent_csrf(sent):
        raise _Refused(403, "this page expired or came from another site; reload it")
    return me


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest("send a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidRequest("send a JSON object")
    return body


def _credential(body: dict[str, Any]) -> dict[str, Any]:
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise InvalidRequest("the body needs a `credential` object (PublicKeyCredential.toJSON())")
    return credential


@router.get("/passkeys")
async def passkey_page(
    request: Request, runtime: RuntimeDep, token: SessionToken = None, notice: str | None = None
) -> Response:
    me = await viewer(runtime, token)
    if me is None:
        return login_page(request)
    keys = await passkeys_service.list_passkeys(runtime.db, identity=me.session.identity)
    response = page(request, "passkeys.html", me.client, passkeys=keys, csrf=me.csrf, notice=notice)
    response.headers["Content-Security-Policy"] = csp(scripts=True)
    return response


@router.post("/passkeys/options")
async def registration_options(
    request: Request, runtime: RuntimeDep, token: SessionToken = None
) -> Response:
    try:
        me = await _caller(request, runtime, token)
    except _Refused as exc:
        return JSONResponse({"error": "refused", "detail": exc.detail}, status_code=exc.status)
    options = await passkeys_service.registration_options(
        runtime.db, _rp(runtime), identity=me.session.identity, session_id=me.session.id
    )
    # Sent as webauthn serialised it: re-encoding would turn bytes fields into something else.
    return Response(options, media_type="application/json")


@router.post("/passkeys")
async def register(request: Request, runtime: RuntimeDep, token: SessionToken = None) -> Response:
    try:
        me = await _caller(request, runtime, token)
        body = await _body(request)
        key = await passkeys_service.register(
            runtime.db,
            _rp(runtime),
            _credential(body),
            identity=me.session.identity,
            session_id=me.session.id,
            name=str(body.get("name") or "")[:100],
        )
    except _Refused as exc:
        return JSONResponse({"error": "refused", "detail": exc.detail}, status_code=exc.status)
    except ApprovalsError as exc:
        return _refusal(exc)
    return JSONResponse({"id": key.id, "name": key.name}, status_code=201)


@router.post("/passkeys/{passkey_id}/remove")
async def remove(
    request: Request,
    passkey_id: ActionId,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=64)] = "",
    token: SessionToken = None,
) -> Response:
    me = await form_viewer(request, runtime, token, csrf)
    if isinstance(me, Response):
        return me
    try:
        await passkeys_service.revoke(
            runtime.db, passkey_id, actor=me.session.identity, owner=me.session.identity
        )
    except ApprovalsError as exc:
        return error_page(request, me.client, exc.detail, exc.status)
    return RedirectResponse("/ui/passkeys?notice=Passkey+removed.", status_code=303)


@router.post("/actions/{action_id}/passkey/options")
async def assertion_options(
    request: Request, action_id: ActionId, runtime: RuntimeDep, token: SessionToken = None
) -> Response:
    try:
        me = await _caller(request, runtime, token)
        options = await passkeys_service.assertion_options(
            runtime.db,
            _rp(runtime),
            identity=me.session.identity,
            session_id=me.session.id,
            next_path=f"/ui/actions/{action_id}",
        )
    except _Refused as exc:
        return JSONResponse({"error": "refused", "detail": exc.detail}, status_code=exc.status)
    except ApprovalsError as exc:
        return _refusal(exc)
    return Response(options, media_type="application/json")


@router.post("/actions/{action_id}/passkey")
async def approve_with_passkey(
    request: Request, action_id: ActionId, runtime: RuntimeDep, token: SessionToken = None
) -> Response:
    """The approval counts only after the assertion verified: a vote without one is refused."""
    try:
        me = await _caller(request, runtime, token)
        key = await passkeys_service.confirm(
            runtime.db,
            _rp(runtime),
            _credential(await _body(request)),
            identity=me.session.identity,
            session_id=me.session.id,
            next_path=f"/ui/actions/{action_id}",
        )
        result = await decisions.decide(
            runtime,
            action_id,
            approver=me.session.identity,
            verdict="approve",
            reason=None,
            platform="web",
            stepped_up=f"passkey:{key.credential_id}",
            auth=me.session.method,
        )
    except _Refused as exc:
        return JSONResponse({"error": "refused", "detail": exc.detail}, status_code=exc.status)
    except ApprovalsError as exc:
        return _refusal(exc)
    notice = f"Recorded with your passkey. The request is now {result.status.value}."
    return JSONResponse({"notice": notice, "status": result.status.value})
