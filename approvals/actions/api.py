"""/v1/actions routes: parse, call the service, shape the response. No SQL here."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status

from approvals.actions import decisions
from approvals.actions import service as actions_service
from approvals.actions.schemas import (
    AUTO_APPROVED_EXAMPLE,
    ActionCreate,
    ActionPage,
    ActionRead,
    DecisionIn,
)
from approvals.actions.states import Status
from approvals.api.deps import RuntimeDep
from approvals.api.responses import WITH_BODY, errors
from approvals.clients.auth import CurrentClient, Reviewer, Submitter
from approvals.clients.models import Client
from approvals.errors import RateLimited
from approvals.kit.clock import utc_now
from approvals.release.api import with_release
from approvals.release.service import ReleaseDeps

router = APIRouter(prefix="/v1/actions", tags=["actions"])

ActionId = Annotated[str, Path(min_length=1, max_length=64, description="The request's id.")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionRead,
    responses={
        201: {
            "description": "Created. When policy auto-approves, the answer carries the "
            "release token (`release_token`, `release_expires_at`): act at once, no wait.",
            "content": {
                "application/json": {
                    "examples": {
                        "auto_approved": {
                            "summary": "Auto-approved: the release token is in the answer",
                            "value": AUTO_APPROVED_EXAMPLE,
                        }
                    }
                }
            },
        },
        200: {
            "description": "Idempotent replay: the request created earlier with this "
            "Idempotency-Key and body, with its release token if it has one.",
            "model": ActionRead,
        },
        **errors(*WITH_BODY, 401, 403, 409, 429),
    },
    summary="Submit a privileged action for approval",
)
async def submit_action(
    body: ActionCreate,
    runtime: RuntimeDep,
    client: Submitter,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ActionRead:
    wait = await runtime.submit_limiter.retry_after(client.id)
    if wait:
        raise RateLimited(
            f"this key is over its submission budget; retry in {wait:.0f} s "
            "(APPROVALS_SUBMIT_RATE_PER_MINUTE)",
            retry_after=wait,
        )
    result = await actions_service.submit(runtime, client, body, idempotency_key)
    if not result.created:  # a replay answers as a read would: with its token, if any
        response.status_code = status.HTTP_200_OK
        return await with_release(runtime, result.action, client)
    return result.action


@router.get(
    "",
    response_model=ActionPage,
    responses=errors(401, 422),
    summary="List requests, newest first",
)
async def list_actions(
    runtime: RuntimeDep,
    client: CurrentClient,
    status_filter: Annotated[Status | None, Query(alias="status")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ActionPage:
    return await actions_service.list_page(
        runtime, client, status=status_filter, cursor=cursor, limit=limit
    )


@router.get("/{action_id}", response_model=ActionRead, responses=errors(401, 404, 422))
async def get_action(action_id: ActionId, runtime: RuntimeDep, client: CurrentClient) -> ActionRead:
    return await with_release(
        runtime, await actions_service.get(runtime, action_id, client), client
    )


# The requester's next step after an approval needs the release token, which the worker mints
# a moment after a person's decision: a granted request is waited on until it is released, so
# one long-poll answers "run it, here is the token" instead of "approved, ask again". A request
# policy auto-approved has its token from the submit on, and is answered at once.
WAITED_ON = frozenset({Status.PENDING, Status.APPROVED, Status.AUTO_APPROVED})


@router.get(
    "/{action_id}/wait",
    response_model=ActionRead,
    responses=errors(401, 404, 422),
    summary="Long-poll until the request is decided and, if approved, released",
)
async def wait_for_action(
    action_id: ActionId,
    runtime: RuntimeDep,
    client: CurrentClient,
    timeout: Annotated[float, Query(ge=0, le=900)] = 30,
) -> ActionRead:
    """Returns when the request is released (with its token), denied, blocked, expired or
    cancelled, or when `timeout` (capped by APPROVALS_MAX_WAIT_SECONDS) passes, with the state
    at that moment. Holds no database connection while waiting: a commit on this request
    wakes it."""
    deadline = asyncio.get_running_loop().time() + min(timeout, runtime.settings.max_wait_seconds)
    with runtime.notifier.subscribe(action_id) as changed:
        while True:
            current = await actions_service.get(runtime, action_id, client)
            left = deadline - asyncio.get_running_loop().time()
            if current.status not in WAITED_ON or left <= 0:
                return await with_release(runtime, current, client)
            if current.status is Status.AUTO_APPROVED:
                shown = await with_release(runtime, current, client)
                if shown.release_expires_at is not None:  # minted at intake
                    return shown
            if current.status is Status.PENDING:
                left = min(left, (current.expires_at - utc_now()).total_seconds())
            try:
                await asyncio.wait_for(changed.wait(), timeout=max(0.0, left))
            except TimeoutError:
                break
            changed.clear()
    # Nobody decided in time: the wait ends with `expired`, not a stale `pending`.
    await decisions.expire_if_due(runtime, action_id)
    return await with_release(
        runtime, await actions_service.get(runtime, action_id, client), client
    )


@router.post(
    "/{action_id}/cancel",
    response_model=ActionRead,
    responses=errors(401, 403, 404, 409, 422),
)
async def cancel_action(
    action_id: ActionId, runtime: RuntimeDep, client: CurrentClient
) -> ActionRead:
    return await decisions.cancel(runtime, action_id, client)


@router.post(
    "/{action_id}/decisions",
    response_model=ActionRead,
    responses=errors(*WITH_BODY, 401, 403, 404, 409),
    summary="Approve or deny as the API client's identity",
)
async def decide_action(
    action_id: ActionId, body: DecisionIn, runtime: RuntimeDep, client: Reviewer
) -> ActionRead:
    return await decisions.decide(
        runtime,
        action_id,
        approver=client.identity,
        verdict=body.verdict,
        reason=body.reason,
        platform="api",
    )


async def _read(runtime: ReleaseDeps, action_id: str, client: Client) -> ActionRead:
    """A request as this client may see it (its release token only if it is the requester)."""
    return await with_release(
        runtime, await actions_service.get(runtime, action_id, client), client
    )
