"""The one rule for reporting invalid input: where and what, never the value. Pure.

Used by the HTTP error renderer and the MCP server alike. `loc` is a path through the
declared schema: a part is repeated only when it is a declared name (or a list index), so a
key the caller made up (which may be a patient's name) reads `*`, and an unknown field is
reported by where it was, not by its name. `msg` is pydantic's or ours; neither quotes the
input. pydantic's `input` and `ctx` (which do) are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# PostgreSQL text and jsonb refuse U+0000 and UTF-8 cannot encode a lone surrogate; SQLite
# stores both. Refused on every path in, so both databases hold the same things.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE = (
    "text must not contain the NUL character (U+0000) or an unpaired surrogate; "
    "remove it and send again"
)
UNKNOWN_FIELD = "unknown field: remove it (its name is not repeated, as keys may hold PHI)"
HIDDEN = "*"


def declared_names(schema: Any) -> frozenset[str]:
    """Every property and parameter name in a JSON Schema or OpenAPI document."""
    names: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            properties = node.get("properties")
            if isinstance(properties, Mapping):
                names.update(str(key) for key in properties)
            if "in" in node and isinstance(node.get("name"), str):
                names.add(node["name"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(names)


def describe(
    errors: Iterable[Mapping[str, Any]], known: frozenset[str], *, skip: frozenset[str]
) -> list[dict[str, Any]]:
    """pydantic errors as `{"loc", "msg", "type"}`; `skip` drops framing parts (`body`)."""
    described = []
    for error in errors:
        parts = [part for part in error.get("loc", ()) if part not in skip]
        msg = str(error.get("msg", "invalid"))
        if error.get("type") == "extra_forbidden" and parts:
            parts, msg = parts[:-1], UNKNOWN_FIELD
        loc = [part if isinstance(part, int) or part in known else HIDDEN for part in parts]
        described.append({"loc": loc, "msg": msg, "type": error.get("type")})
    return described


def sentence(described: Iterable[Mapping[str, Any]]) -> str:
    """The same errors on one line, for channels that carry text (MCP tool results)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in described
    )


def unstorable(value: Any) -> bool:
    """Any string (a key or a value) in JSON-shaped data that no database here stores alike."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(unstorable(k) or unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(unstorable(item) for item in value)
    return False
