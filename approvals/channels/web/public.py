"""Public pages outside /ui: `/` (to the reviewer page), and the privacy statement and terms
the Teams app manifest links to (`privacyUrl`, `termsOfUseUrl`). Static text, no sign-in;
the same security headers as /ui.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from approvals.channels.web.pages import SecureRoute, page

router = APIRouter(include_in_schema=False, route_class=SecureRoute)


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/ui", status_code=307)


@router.get("/privacy", response_class=HTMLResponse)
async def privacy(request: Request) -> Response:
    return page(request, "privacy.html", None)


@router.get("/terms", response_class=HTMLResponse)
async def terms(request: Request) -> Response:
    return page(request, "terms.html", None)
