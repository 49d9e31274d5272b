"""Whether one rule's `match` holds for a request, field by field, with a reason per field. Pure.

The engine uses the verdict; `explain` shows the reasons. Both read the same checks so an
explanation can never disagree with the decision it explains.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache

from approvals.kit.identity import identity_key
from approvals.policy.decision import RequestFacts
from approvals.policy.schema import REGEX_PREFIX, Match

GROUP_PREFIX = "group:"
Members = Callable[[str], frozenset[str]]


@dataclass(frozen=True, slots=True)
class Check:
    field: str
    ok: bool
    detail: str


@lru_cache(maxsize=512)
def _regex(source: str) -> re.Pattern[str]:
    return re.compile(source)


def pattern_matches(pattern: str, value: str, *, fold: bool = False) -> bool:
    """A glob (`sql.*`) or, with the `re:` prefix, a regex that must match the whole value."""
    if fold:
        pattern, value = pattern.lower(), value.lower()
    if pattern.startswith(REGEX_PREFIX):
        return _regex(pattern[len(REGEX_PREFIX) :]).fullmatch(value) is not None
    return fnmatchcase(value, pattern)


def _identity_matches(pattern: str, identity: str, members: Members) -> bool:
    if pattern.startswith(GROUP_PREFIX):
        return identity_key(identity) in members(pattern[len(GROUP_PREFIX) :])
    return pattern_matches(pattern, identity, fold=True)


def _any(patterns: tuple[str, ...]) -> str:
    return repr(patterns[0]) if len(patterns) == 1 else "any of " + ", ".join(map(repr, patterns))


def _field(name: str, patterns: tuple[str, ...], value: str, ok: bool) -> Check:
    verb = "matches" if ok else "does not match"
    return Check(name, ok, f"{name} {value!r} {verb} {_any(patterns)}")


def checks(match: Match, facts: RequestFacts, members: Members) -> list[Check]:
    """One Check per field the rule sets, in a fixed order; all ok means the rule matches."""
    found: list[Check] = []
    for name, patterns, value, fold in (
        ("action", match.action, facts.action, False),
        ("resource", match.resource, facts.resource, False),
        ("environment", match.environment, facts.environment, True),
    ):
        if patterns is not None:
            ok = any(pattern_matches(p, value, fold=fold) for p in patterns)
            found.append(_field(name, patterns, value, ok))
    for name, patterns, identity in (
        ("requester", match.requester, facts.requester),
        ("on_behalf_of", match.on_behalf_of, facts.on_behalf_of),
    ):
        if patterns is None:
            continue
        if identity is None:
            found.append(Check(name, False, f"{name} is not set; the rule needs {_any(patterns)}"))
            continue
        ok = any(_identity_matches(p, identity, members) for p in patterns)
        found.append(_field(name, patterns, identity, ok))
    if match.tags is not None:
        present = {tag.lower() for tag in facts.tags}
        missing = [tag for tag in match.tags if tag not in present]
        detail = f"missing tags {missing}" if missing else f"has tags {list(match.tags)}"
        found.append(Check("tags", not missing, detail))
    if match.risk_at_least is not None:
        ok = facts.risk.rank >= match.risk_at_least.rank
        relation = "is at least" if ok else "is below"
        found.append(Check("risk", ok, f"risk {facts.risk} {relation} {match.risk_at_least}"))
    if match.risk_at_most is not None:
        ok = facts.risk.rank <= match.risk_at_most.rank
        relation = "is at most" if ok else "is above"
        found.append(Check("risk", ok, f"risk {facts.risk} {relation} {match.risk_at_most}"))
    if match.guardrails is not None:
        hits = [
            code
            for code in facts.guardrail_codes
            if any(fnmatchcase(code, p) for p in match.guardrails)
        ]
        detail = (
            f"guardrail findings {hits} match {_any(match.guardrails)}"
            if hits
            else f"no guardrail finding matches {_any(match.guardrails)}"
        )
        found.append(Check("guardrails", bool(hits), detail))
    return found


def matches(match: Match, facts: RequestFacts, members: Members) -> bool:
    return all(check.ok for check in checks(match, facts, members))
