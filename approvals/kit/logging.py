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


class _CurrentStderr:
    """Whatever sys.stderr is at write time (test runners and CLI harnesses swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(settings: _LogSettings) -> None:
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    # httpx and httpcore log every request line at INFO (callbacks, chat APIs, the CLI's own
    # calls): noise for operators and CLI users, and URLs are not ours to repeat. Warnings stay.
    # alembic announces each of its plugins at INFO on every migration (first start prints
    # seven such lines); "Running upgrade ..." stays visible.
    # aiosqlite logs every statement with its bound parameters (request values) at DEBUG.
    for noisy in ("httpx", "httpcore", "alembic.runtime.plugins", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            scrub,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # stderr: stdout belongs to command output (`--json` must stay parseable).
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
