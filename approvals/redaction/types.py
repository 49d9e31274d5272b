"""The redaction contract shared by the engine, intake and the CLI. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class RedactionError(ValueError):
    """The document cannot be redacted safely; intake must reject it (422), never store it.

    The message names the path and the reason only, never the offending value.
    """


@dataclass(slots=True)
class Finding:
    """One kind of PHI found at one path: the value itself is never kept.

    Not frozen, unlike the other contract types: a document makes dozens, and a frozen
    dataclass's `__init__` (one `object.__setattr__` per field) costs three times a plain one
    interpreted and more compiled. Treat it as read-only; `Redacted` holds them in a tuple.
    """

    path: str
    type: str
    detector: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class Redacted:
    value: Any
    findings: tuple[Finding, ...] = ()

    def summary(self) -> dict[str, int]:
        """Counts by PHI type, e.g. {"NAME": 2, "MRN": 1}: what cards and the API show."""
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.type] = counts.get(finding.type, 0) + finding.count
        return dict(sorted(counts.items()))


@dataclass(frozen=True, slots=True)
class RedactionConfig:
    """Policy-supplied extensions: extra sensitive keys, custom patterns, verbatim keys."""

    extra_keys: frozenset[str] = frozenset()
    custom_patterns: tuple[tuple[str, str], ...] = ()  # (TYPE, regex)
    keep_keys: frozenset[str] = frozenset()
    max_depth: int = 64
    max_string_length: int = 100_000
    extra: dict[str, Any] = field(default_factory=dict)
