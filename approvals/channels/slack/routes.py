"""`POST /slack/events`: bolt's FastAPI (Starlette) adapter in front of one AsyncApp.

Verification stays in bolt; this module only gives its 401 the service's error shape.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp

INVALID_SIGNATURE = {
    "error": "invalid_signature",
    "detail": "The request is not signed with this app's Slack signing secret, "
    "or its timestamp is more than 5 minutes old.",
}


def slack_router(app: AsyncApp) -> APIRouter:
    handler = AsyncSlackRequestHandler(app)
    router = APIRouter(tags=["slack"])

    @router.post(
        "/slack/events",
        include_in_schema=False,
        responses={401: {"description": "Missing or invalid Slack signature"}},
    )
    async def slack_events(request: Request) -> Response:
        response = await handler.handle(request)
        # Only bolt's request verification answers 401 (its body: {"error": "invalid request"}).
        if response.status_code == 401:
            return JSONResponse(INVALID_SIGNATURE, status_code=401)
        return response

    return router
