"""Request ids, access logs and HTTP metrics for every request, in one ASGI layer.

The access log line and the metric labels name the *route template* (`/v1/actions/{id}`),
never the raw path or query: both may carry identifiers a caller typed.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from approvals import metrics
from approvals.kit import tracing

log = structlog.get_logger("approvals.access")
_HEADER = tracing.HEADER.lower().encode()
_UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else _UNMATCHED


class RequestContext:
    """Outermost layer: binds the request id first so every later log line carries it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(_HEADER)
        request_id = tracing.accept_or_create(offered.decode("latin-1") if offered else None)
        status = 500  # what the client sees if the app dies before starting a response
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        with tracing.bound_request_id(request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                self._record(scope, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        method = scope["method"]
        metrics.http_duration.labels(method=method, route=route).observe(seconds)
        metrics.http_responses.labels(method=method, route=route, status=str(status)).inc()
        state = scope.get("state") or {}
        log.info(
            "http.request",
            method=method,
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 2),
            client_id=state.get("client_id"),
        )
