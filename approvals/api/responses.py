"""The error statuses an operation declares in `responses=`, so /openapi.json lists every status
a client can get (schemathesis checks there is no other). One description per status; an
operation passes its own text where the general one would mislead."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str = Field(description="A stable code, e.g. `not_found`, `database_busy`.")
    detail: Any = Field(
        description="A sentence for people; for 422 a list of {loc, msg, type}. Never echoes "
        "request values."
    )


DESCRIPTIONS: dict[int, str] = {
    400: "The body is not valid JSON (`malformed_json`).",
    401: "Missing, unknown or revoked API key.",
    403: "The key lacks a scope, or the reviewer may not decide this request.",
    404: "No such request.",
    409: "Conflict: already decided, expired, or idempotency key reused.",
    413: "Body too large (APPROVALS_MAX_BODY_BYTES).",
    422: "Invalid request: the field paths, never the values.",
    429: "Rate limited; `Retry-After` says when to retry.",
    503: "The database is busy (no connection or lock in time) or unreachable; nothing was "
    "written. `Retry-After` says when to retry.",
}

# Routes that read a body can also answer these before the handler runs.
WITH_BODY = (400, 413, 422)


def errors(*codes: int, **overrides: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for these statuses plus 503, which every operation touching the database
    can answer. `overrides` replace a description: `errors(403, s403="...")`."""
    declared: dict[int | str, dict[str, Any]] = {}
    for code in sorted({*codes, 503}):
        text = overrides.get(f"s{code}", DESCRIPTIONS[code])
        declared[code] = {"description": text, "model": ErrorBody}
    return declared
