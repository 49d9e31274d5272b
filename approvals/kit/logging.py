"""structlog setup. Log events are names plus ids; a PHI-safe processor is the backstop."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Protocol

import structlog

_SUSPECT = re.compile(r"\b\d{3}-\d{2}-\d{4}\b|[\w.+-]+@[\w-]+\.[\w.]+")
_SAFE_KEYS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "action_id",
        "outbox_id",
        "kind",
        "status",
        "rule",
        "risk",
        "error",
        "path",
        "verdict",
        "request_id",
        "route",
        "method",
        "client_id",
    }
)


class _LogSettings(Protocol):
    log_level: str
    log_json: bool


def scrub(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask SSN- and email-shaped text in free-form fields that slipped into a log call."""
    for key, value in list(event.items()):
        if key not in _SAFE_KEYS and isinstance(value, str):
            event[key] = _SUSPECT.sub("[MASKED]", value)
    return event


def scrub_foreign(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Records from other libraries carry free text in `event` too (a driver's error message
    may quote a value): mask it like any other free-form field."""
    message = event.get("event")
    if isinstance(message, str):
        event["event"] = _SUSPECT.sub("[MASKED]", message)
    return event


class _CurrentStderr:
    """Whatever sys.stderr is at write time (test runners and CLI harnesses swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the root handler this module installed, so a second configure replaces it."""


def configure_logging(settings: _LogSettings) -> None:
    """structlog events and stdlib records (uvicorn, RQ, alembic, SQLAlchemy) leave through one
    renderer: with `log_json` every line on stderr is one JSON object, carrying the request id
    bound in the current context."""
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        scrub,
    ]
    handler = _OurHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared, scrub_foreign],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn configures no handlers of its own when started with log_config=None; its and
    # RQ's loggers then propagate here. RQ adds its own handler only when none is effective.
    for name in ("uvicorn", "uvicorn.error", "rq", "rq.worker"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # httpx and httpcore log every request line at INFO (callbacks, chat APIs, the CLI's own
    # calls): noise for operators and CLI users, and URLs are not ours to repeat. Warnings stay.
    # alembic announces each of its plugins at INFO on every migration (first start prints
    # seven such lines); "Running upgrade ..." stays visible.
    # aiosqlite logs every statement with its bound parameters (request values) at DEBUG.
    for noisy in ("httpx", "httpcore", "alembic.runtime.plugins", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # stderr: stdout belongs to command output (`--json` must stay parseable).
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
