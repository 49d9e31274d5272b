"""Time-ordered identifiers (UUIDv7 layout): ids sort by creation, so keyset pagination is by id."""

from __future__ import annotations

import secrets
import time
import uuid


def new_id() -> str:
    millis = time.time_ns() // 1_000_000
    rand = secrets.randbits(74)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (rand >> 62) << 64  # 12 random bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
