"""The id of the HTTP request (or job) being served, carried to logs, jobs and audit events.

One context variable, set by the request middleware and by the job runner; structlog's
contextvars carry the same value into every log line. Pure: no I/O.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import structlog

HEADER = "X-Request-ID"
# A caller's id is kept when it is a plain token (a proxy's or a client's); anything else (too
# long, spaces, quotes) is replaced, so a header can never smuggle text into logs.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

_current: ContextVar[str | None] = ContextVar("approvals_request_id", default=None)


def current_request_id() -> str | None:
    return _current.get()


_trace_context: list[Callable[[], str | None]] = []  # set once by approvals.telemetry


def set_trace_context_source(source: Callable[[], str | None]) -> None:
    _trace_context[:] = [source]


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, when OpenTelemetry tracing is on."""
    return _trace_context[0]() if _trace_context else None


def new_request_id() -> str:
    return secrets.token_hex(16)


def accept_or_create(offered: str | None) -> str:
    if offered and _ACCEPTABLE.fullmatch(offered):
        return offered
    return new_request_id()


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Within the block, logs and audit events carry `request_id` (nothing when None)."""
    token = _current.set(request_id)
    if request_id is None:
        try:
            yield
        finally:
            _current.reset(token)
        return
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        try:
            yield
        finally:
            _current.reset(token)
