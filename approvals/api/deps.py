"""Typed aliases routes use to reach the Runtime (built by the app's lifespan)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

if TYPE_CHECKING:
    from approvals.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    """Async although it awaits nothing: FastAPI runs a plain `def` dependency in a worker
    thread, a hop that cost more than most of a request's own work."""
    runtime: Any = request.app.state.runtime
    return runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated["Runtime", Depends(get_runtime)]
