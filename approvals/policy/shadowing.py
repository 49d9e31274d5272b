"""Rule coverage: does an earlier rule match every request a later one would? Pure.

Sound, not complete: `covers` answers True only when coverage is certain, so `policy check`
never calls a reachable rule unreachable; it may miss some exotic overlaps (regex vs glob).
"""

from __future__ import annotations

import re

from approvals.policy.decision import Risk
from approvals.policy.matching import GROUP_PREFIX, pattern_matches
from approvals.policy.schema import REGEX_PREFIX, Match

_GLOB_CHARS = re.compile(r"[*?\[]")


def _literal(pattern: str) -> bool:
    return not pattern.startswith(REGEX_PREFIX) and not _GLOB_CHARS.search(pattern)


def pattern_covers(broad: str, narrow: str, *, fold: bool = False) -> bool:
    """Every value `narrow` matches, `broad` matches too."""
    if fold:
        broad, narrow = broad.lower(), narrow.lower()
    if broad == narrow or broad == "*":
        return True
    if broad.startswith(GROUP_PREFIX) or narrow.startswith(GROUP_PREFIX):
        return False
    if _literal(narrow):
        return pattern_matches(broad, narrow)
    if narrow.startswith(REGEX_PREFIX) or broad.startswith(REGEX_PREFIX):
        return False
    stem = broad[:-1]
    return broad.endswith("*") and _literal(stem) and narrow.startswith(stem)


def _field_covers(
    broad: tuple[str, ...] | None, narrow: tuple[str, ...] | None, *, fold: bool = False
) -> bool:
    if broad is None:
        return True
    if narrow is None:
        return False
    return all(any(pattern_covers(b, n, fold=fold) for b in broad) for n in narrow)


def risk_range(match: Match) -> tuple[int, int]:
    low = (match.risk_at_least or Risk.LOW).rank
    high = (match.risk_at_most or Risk.CRITICAL).rank
    return low, high


def covers(broad: Match, narrow: Match) -> bool:
    """True when any request matching `narrow` also matches `broad`."""
    fields = (
        (broad.action, narrow.action, False),
        (broad.resource, narrow.resource, False),
        (broad.environment, narrow.environment, True),
        (broad.requester, narrow.requester, True),
        (broad.on_behalf_of, narrow.on_behalf_of, True),
        (broad.guardrails, narrow.guardrails, False),
    )
    if not all(_field_covers(b, n, fold=fold) for b, n, fold in fields):
        return False
    if broad.tags and not set(broad.tags) <= set(narrow.tags or ()):
        return False
    broad_low, broad_high = risk_range(broad)
    narrow_low, narrow_high = risk_range(narrow)
    return broad_low <= narrow_low and narrow_high <= broad_high
