"""Admin routes for web sessions: list them, end one or all of a person's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from approvals.api.deps import RuntimeDep
from approvals.clients.auth import Admin
from approvals.errors import InvalidRequest, NotFound
from approvals.identity import service as identity_service
from approvals.identity.schemas import RevokedSessions, SessionRead
from approvals.identity.service import limits

router = APIRouter(prefix="/v1/sessions", tags=["identity"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key."},
    403: {"description": "The key lacks the admin scope."},
    404: {"description": "No active session with that id."},
    422: {"description": "Invalid request."},
}


@router.get("", response_model=list[SessionRead], responses=_ERRORS, summary="Active sessions")
async def list_sessions(
    runtime: RuntimeDep,
    _admin: Admin,
    identity: Annotated[str | None, Query(max_length=320)] = None,
) -> list[SessionRead]:
    rows = await identity_service.list_sessions(
        runtime.db, limits(runtime.settings), identity=identity
    )
    return [SessionRead.model_validate(row) for row in rows]


@router.delete(
    "/{session_id}", response_model=RevokedSessions, responses=_ERRORS, summary="End a session"
)
async def revoke_session(session_id: str, runtime: RuntimeDep, admin: Admin) -> RevokedSessions:
    ended = await identity_service.revoke(runtime.db, actor=admin.identity, session_id=session_id)
    if not ended:
        raise NotFound("no active session with that id; see GET /v1/sessions")
    return RevokedSessions(revoked=ended)


@router.delete(
    "", response_model=RevokedSessions, responses=_ERRORS, summary="End all of a person's sessions"
)
async def revoke_sessions(
    runtime: RuntimeDep,
    admin: Admin,
    identity: Annotated[str, Query(max_length=320)] = "",
) -> RevokedSessions:
    if not identity.strip():
        raise InvalidRequest("name whose sessions to end: ?identity=someone@example.org")
    ended = await identity_service.revoke(runtime.db, actor=admin.identity, identity=identity)
    return RevokedSessions(revoked=ended)
