"""How /ui pages are rendered: templates, the security headers every response carries, and
the sign-in, error and ordinary page helpers the route modules share."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from approvals.channels.web import queries
from approvals.clients.auth import has_scope
from approvals.clients.models import Client
from approvals.clients.schemas import Scope
from approvals.config import Settings
from approvals.kit.clock import utc_now

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_HERE = Path(__file__).parent


def csp(*, scripts: bool = False, provider: str | None = None) -> str:
    """The page CSP, widened only as a page needs: our own script (passkeys) and fetches to
    ourselves, or the single sign-on provider as a place a form may lead (step-up)."""
    policy = CSP
    if scripts:
        policy = policy.replace(
            "default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';"
        )
    if provider:
        parts = urlsplit(provider)
        policy = policy.replace(
            "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
        )
    return policy


class SecureRoute(APIRoute):
    """Adds the security headers to every /ui response unless the route set its own CSP."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def secured(request: Request) -> Response:
            response = await handler(request)
            for name, value in _HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return secured


_templates = Jinja2Templates(directory=str(_HERE / "templates"))
_templates.env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)
_templates.env.filters["label"] = queries.label


def when(at: datetime) -> str:
    """A date a reviewer can act on: absolute (UTC) and relative to the page's rendering,
    "2026-12-03 16:05 UTC · in 2 h 5 min". The page runs no script, so the relative part is
    as of the moment it was served."""
    seconds = (at - utc_now()).total_seconds()
    minutes = round(abs(seconds) / 60)
    hours, rest = divmod(minutes, 60)
    if minutes < 1:
        span = "less than a minute"
    elif hours == 0:
        span = f"{minutes} min"
    elif hours < 48:
        span = f"{hours} h {rest} min" if rest else f"{hours} h"
    else:
        span = f"{round(hours / 24)} days"
    relative = f"in {span}" if seconds >= 0 else f"{span} ago"
    return f"{at:%Y-%m-%d %H:%M} UTC · {relative}"


_templates.env.filters["when"] = when


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


def page(
    request: Request, name: str, who: Client | None, status_code: int = 200, **values: Any
) -> Response:
    context = {
        "reviewer": who,
        "can_review": who is not None and has_scope(who, Scope.REVIEW),
        "can_audit": who is not None and has_scope(who, Scope.AUDIT),
        "notice": None,
        **values,
    }
    return _templates.TemplateResponse(request, name, context, status_code=status_code)


def login_page(request: Request, message: str | None = None, status_code: int = 200) -> Response:
    """The sign-in page; single sign-on returns the reviewer to the page they asked for."""
    settings = settings_of(request)
    here = request.url.path
    if request.method != "GET" or here.startswith("/ui/auth"):
        here = "/ui"
    return page(
        request,
        "login.html",
        None,
        status_code,
        message=message,
        sso=settings.oidc_enabled,
        key_login=settings.key_login_allowed,
        next_path=here,
    )


def error_page(request: Request, who: Client | None, message: str, status_code: int) -> Response:
    return page(request, "error.html", who, status_code, message=message)
