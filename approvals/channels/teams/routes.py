"""`POST /teams/messages`: the HTTP face of the Teams bot, mapped onto `TeamsAdapter.process`.

Owns only the HTTP edge: body size and JSON shape (400 with a reason, never 500), the
Authorization header hand-off, and writing the adapter's (status, body) back. Nothing here logs
the body: activities carry user names, and card text is request content.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from approvals.channels.teams.adapter import TeamsAdapter

# Teams activities (cards included) stay far below this; a larger body is not from Teams.
MAX_BODY_BYTES = 256 * 1024


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "detail": detail}, status_code=status)


def teams_router(adapter: TeamsAdapter) -> APIRouter:
    router = APIRouter(tags=["teams"])

    @router.post("/teams/messages", response_model=None)
    async def teams_messages(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return JSONResponse(
                {"error": "too_large", "detail": f"body exceeds {MAX_BODY_BYTES} bytes"},
                status_code=413,
            )
        try:
            # orjson refuses nesting deeper than 1024 instead of raising RecursionError.
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return _error(400, f"malformed JSON: {exc.msg}")
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object (a Bot Framework activity)")
        status, answer = await adapter.process(body, request.headers.get("authorization"))
        if answer is None:
            return Response(status_code=status)
        return JSONResponse(answer, status_code=status)

    return router
