"""/v1/keys and /v1/actions/{id}/executed, and the release view added to a request read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from approvals.actions import service as actions_service
from approvals.actions.decisions import redact_document
from approvals.actions.schemas import ActionRead, CallbackRead, Execution
from approvals.api.deps import RuntimeDep
from approvals.api.responses import WITH_BODY, errors
from approvals.clients.auth import Submitter
from approvals.clients.models import Client
from approvals.release import service as release_service
from approvals.release.service import ReleaseDeps

router = APIRouter(tags=["release"])


class ExecutedIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "token": "eyJhbGciOiJFZERTQSIs...",
                    "outcome": "succeeded",
                    "detail": "1 row deleted",
                }
            ]
        },
    )

    token: str = Field(min_length=1, max_length=8192)
    outcome: Execution
    detail: str | None = Field(None, max_length=2000)


@router.get("/v1/keys", summary="Public keys (JWKS) that verify release tokens offline")
async def keys(runtime: RuntimeDep) -> dict[str, Any]:
    return runtime.keyring.jwks()


@router.post(
    "/v1/actions/{action_id}/executed",
    response_model=ActionRead,
    responses=errors(
        *WITH_BODY,
        401,
        403,
        404,
        409,
        s403="The key lacks the submit scope, or the token is invalid or bound to another "
        "request or payload.",
        s404="No such request, or not this key's.",
        s409="The token was already used, or the request is not released.",
    ),
    summary="Report the outcome of a released action (the token works once)",
)
async def executed(
    action_id: Annotated[str, Path(max_length=64)],
    body: ExecutedIn,
    runtime: RuntimeDep,
    client: Submitter,
) -> ActionRead:
    detail = None
    if body.detail:
        policy = runtime.policies.current()
        redacted = await redact_document(runtime, policy, {"detail": body.detail})
        detail = str(redacted.value["detail"])
    await release_service.mark_executed(
        runtime,
        action_id,
        client_id=client.id,
        actor=client.identity,
        token=body.token,
        outcome=body.outcome,
        detail=detail,
    )
    return await with_release(
        runtime, await actions_service.get(runtime, action_id, client), client
    )


async def with_release(deps: ReleaseDeps, read: ActionRead, viewer: Client) -> ActionRead:
    """Callbacks for every viewer; the token only for the client it was issued to."""
    async with deps.db() as session:
        view = await release_service.view(session, read.id)
    token = view.token
    mine = token is not None and token.used_at is None and view.client_id == viewer.id
    return read.model_copy(
        update={
            "release_token": token.token if mine and token else None,
            "release_expires_at": token.expires_at if token else None,
            "callbacks": [
                CallbackRead(
                    id=c.id,
                    event=c.event,
                    state=c.state,
                    attempts=c.attempts,
                    last_status=c.last_status,
                )
                for c in view.deliveries
            ],
        }
    )
