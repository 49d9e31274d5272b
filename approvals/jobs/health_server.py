"""The worker's own HTTP port: /healthz, /readyz and /metrics, for probes and scrapes.

Served by uvicorn on the event loop of the worker's reconciler thread (never the job thread,
so a long job cannot make the probes time out). Off unless APPROVALS_WORKER_HEALTH_PORT is set.
"""

from __future__ import annotations

import structlog
import uvicorn
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from approvals import metrics
from approvals.errors import Unavailable
from approvals.health import Probed, readiness, refresh_gauges

log = structlog.get_logger(__name__)


def health_app(rt: Probed) -> Starlette:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            return JSONResponse(await readiness(rt, queue_required=True))
        except Unavailable as exc:
            return JSONResponse(
                {"error": exc.code, "detail": str(exc)},
                status_code=503,
                headers={"Retry-After": "5"},
            )

    async def prometheus(_: Request) -> Response:
        await refresh_gauges(rt)
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", prometheus),
        ]
    )


async def serve_health(rt: Probed, host: str, port: int) -> None:
    """Until cancelled. uvicorn installs no signal handlers off the main thread."""
    config = uvicorn.Config(
        health_app(rt), host=host, port=port, log_config=None, access_log=False, lifespan="off"
    )
    try:
        await uvicorn.Server(config).serve()
    except SystemExit:  # uvicorn exits when it cannot bind; the jobs must go on regardless
        log.error("worker.health_port_unavailable", port=port)
