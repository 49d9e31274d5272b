"""Render every error as {"error": code, "detail": ...}; never echo request values back.

Validation errors follow kit.validation's rule (declared names only in `loc`, no input).
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from approvals.errors import ApprovalsError, DatabaseBusy, RateLimited, Unauthorized, Unavailable
from approvals.kit.db import outage
from approvals.kit.validation import declared_names, describe

log = structlog.get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


# Where FastAPI found the value: fixed words, not input.
_FRAMING = frozenset({"query", "path", "header", "cookie"})


def error_body(code: str, detail: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail}


def install(app: FastAPI) -> None:
    known: list[frozenset[str]] = []  # built at the first validation error, then kept

    @app.exception_handler(ApprovalsError)
    async def _approvals(_: Request, exc: ApprovalsError) -> JSONResponse:
        headers: dict[str, str] | None = None
        if isinstance(exc, Unauthorized):
            headers = {"WWW-Authenticate": "Bearer"}
        elif isinstance(exc, RateLimited | Unavailable):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        return JSONResponse(
            error_body(exc.code, exc.detail), status_code=exc.status, headers=headers
        )

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        found = outage(exc)
        if found is None:
            raise exc  # a bug, not an outage: the catch-all below answers 500 and logs it
        log.warning("http.database_unavailable", path=request.url.path, error=type(exc).__name__)
        return await _approvals(request, DatabaseBusy(found.detail, found.retry_after))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        if not known:
            known.append(declared_names(app.openapi()) | _FRAMING)
        errors = describe(exc.errors(), known[0], skip=frozenset({"body"}))
        if any(e["type"] == "json_invalid" for e in errors):
            return JSONResponse(
                error_body("malformed_json", "the body is not valid JSON"), status_code=400
            )
        return JSONResponse(error_body("invalid_request", errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, exc.detail),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: logged with its type only (the message may quote a value).
        log.error("http.unhandled", path=request.url.path, error=type(exc).__name__)
        return JSONResponse(
            error_body("internal", "internal error; the operator's logs have it"), status_code=500
        )
