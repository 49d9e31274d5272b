"""The only clock: everything reads time through utc_now() so freezegun controls it."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
