"""Canonical JSON and its SHA-256 digest: the byte form hashed by the audit chain,
bound into release tokens and compared for idempotency."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: equal documents give equal bytes.

    orjson refuses integers beyond 64 bits, which JSON allows; such documents take the
    standard library's path (the same value always takes the same path, so digests are stable).
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
    except TypeError:
        text = json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=str,
        )
        return text.encode("utf-8")


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()
