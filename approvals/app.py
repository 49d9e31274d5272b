"""create_app(settings) → the FastAPI application; its lifespan owns the Runtime."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from approvals import __version__, metrics, telemetry
from approvals.actions.api import router as actions_router
from approvals.api import errors
from approvals.api.deps import RuntimeDep
from approvals.api.middleware import BodyLimits
from approvals.api.responses import errors as error_responses
from approvals.api.tracing import RequestContext
from approvals.audit.api import router as audit_router
from approvals.channels.web.public import router as web_pages_router
from approvals.channels.web.routes import router as web_router
from approvals.config import Settings
from approvals.health import readiness, refresh_gauges
from approvals.identity.api import router as sessions_router
from approvals.release.api import router as release_router
from approvals.runtime import Runtime

DESCRIPTION = """Puts a human decision between automation and the privileged actions it wants
to run on regulated data. Submit with `POST /v1/actions`, wait with `GET /v1/actions/{id}/wait`.
Every error is JSON: `{"error": code, "detail": ...}`."""


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """With `runtime` given (tests), the caller owns its lifecycle; otherwise the app does."""
    owned = runtime is None
    rt = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not owned:
            yield
            return
        await rt.listen_for_changes()
        rt.start_background()
        # Build the current policy's redactor now (its word lists and patterns), then move
        # everything alive to the collector's permanent generation: those millions of
        # long-lived objects are never traversed again by a full collection in the middle of
        # a request.
        rt.redactor_for(rt.policies.current())
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await rt.close()
            telemetry.shutdown()

    app = FastAPI(
        title="approvals",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks stay off: `telemetry` instruments the app when
        # tracing is configured (ids and route templates only), whereas FastAPI's would also
        # log exception messages and bodies (PHI) to any logger provider, and it looked up
        # the global providers (three environment reads) on every request to find out.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = rt
    app.add_middleware(
        BodyLimits, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth
    )
    if settings.trusted_proxy_list:
        # The one place forwarded headers are believed: the scheme (and so the cookie's
        # Secure flag) and the client address come from these proxies only.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    app.add_middleware(RequestContext)  # added last = outermost: ids cover every layer
    errors.install(app)
    telemetry.instrument_app(app)
    app.include_router(actions_router)
    app.include_router(release_router)
    app.include_router(web_router)
    app.include_router(web_pages_router)
    for router in rt.platforms.routers:
        app.include_router(router)
    app.include_router(audit_router)
    app.include_router(sessions_router)

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Database and queue reachable",
        responses=error_responses(
            s503="The database is unreachable; `Retry-After` says when to retry."
        ),
    )
    async def readyz(rt: RuntimeDep) -> dict[str, str]:
        return await readiness(rt, queue_required=False)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def prometheus(rt: RuntimeDep) -> Response:
        metrics.waiters.set(rt.notifier.waiting)
        await refresh_gauges(rt)
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return app
