"""Fewer prompts over time: propose narrow `auto_approve` rules from decision history. Pure.

A proposal is text for a person to review and commit; nothing here changes a policy. Only
patterns humans always approved qualify: enough approvals, several distinct approvers, no
denial, no guardrail finding and nothing above low risk on any request of the pattern.

A suggestion is never broader than what was observed: one resource stays exact; several
resources of one shape become the longest common prefix (and suffix) around a `*`
(`redis.prod.sessions-1…6` → `redis.prod.sessions-*`), or the exact list when that glob would
keep no literal text or would also cover a past request that was not plainly approved. Each
suggestion lists the ids of the past requests its rule would have auto-approved.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import yaml

from approvals.policy.decision import Outcome, RequestFacts, Risk
from approvals.policy.engine import LoadedPolicy
from approvals.policy.matching import pattern_matches

APPROVED = "approved"
DENIALS = frozenset({"denied", "rejected"})
# Outcomes a glob may cover outside its own group without being too broad.
_PLAINLY_APPROVED = frozenset({APPROVED, "auto_approved"})
_SEPARATORS = "-_./:@"


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    action: str
    resource: str
    environment: str
    outcome: str  # the request's final status: approved, denied, expired, auto_approved…
    approvers: tuple[str, ...]
    guardrail_codes: tuple[str, ...]
    decided_at: datetime
    id: str = ""
    risk: Risk = Risk.LOW


@dataclass(frozen=True, slots=True)
class Suggestion:
    rule_id: str
    action: str
    # The rule's `match.resource`: one pattern, or the exact resources seen.
    resources: tuple[str, ...]
    environment: str
    approvals: int
    approvers: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    # Past requests (ids) the suggested rule would have auto-approved, oldest first.
    would_auto_approve: tuple[str, ...]
    snippet: str

    @property
    def resource(self) -> str | list[str]:
        """As the YAML rule writes it: a string for one pattern, else the list."""
        return self.resources[0] if len(self.resources) == 1 else list(self.resources)


def resource_shape(resource: str) -> str:
    """Digit runs (dates, ids, partitions) become `#`; requests of one shape group together."""
    return re.sub(r"\d+", "#", resource)


def _common_prefix(texts: Sequence[str]) -> str:
    first, last = min(texts), max(texts)
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), None)
    return first if size is None else first[:size]


def _glob(resources: Sequence[str]) -> str | None:
    """`prefix*suffix` around what differs, or None when no literal text would be left.

    A prefix that ends inside a number is cut back to the number's start: `2026-0*` says less
    to a reviewer than `2026-*` and covers the same next months.
    """
    prefix = _common_prefix(resources)
    suffix = _common_prefix([r[len(prefix) :][::-1] for r in resources])[::-1]
    prefix = prefix.rstrip("0123456789")
    suffix = suffix.lstrip("0123456789")
    if not prefix.strip(_SEPARATORS) or prefix.endswith("://"):
        return None
    return f"{prefix}*{suffix}"


def _slug(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")[:60]


def _snippet(s: Suggestion) -> str:
    rule = {
        "id": s.rule_id,
        "description": "Suggested from history; review before committing.",
        "match": {
            "action": s.action,
            "resource": s.resource,
            "environment": s.environment,
            # A later request with any guardrail finding still goes to a human.
            "risk_at_most": "low",
        },
        "decision": {"auto_approve": True},
    }
    evidence = (
        f"# evidence: {s.approvals} approvals by {len(s.approvers)} approvers "
        f"({', '.join(s.approvers)}), no denial, no guardrail finding; "
        f"first {s.first_at:%Y-%m-%d}, last {s.last_at:%Y-%m-%d}\n"
        f"# would have auto-approved {len(s.would_auto_approve)} past requests: "
        f"{', '.join(s.would_auto_approve)}\n"
    )
    body = yaml.safe_dump([rule], sort_keys=False, default_flow_style=None, width=100)
    return evidence + body


def _covered(
    records: Sequence[HistoryRecord], action: str, environment: str, resources: tuple[str, ...]
) -> list[HistoryRecord]:
    """The past requests the suggested rule's `match` selects (same checks as the engine)."""
    return [
        r
        for r in records
        if r.action == action
        and r.environment.lower() == environment
        and any(pattern_matches(p, r.resource) for p in resources)
        and r.risk is Risk.LOW
        and not r.guardrail_codes
    ]


def _narrowest_safe(
    records: Sequence[HistoryRecord],
    action: str,
    environment: str,
    group: list[HistoryRecord],
) -> tuple[tuple[str, ...], list[HistoryRecord]]:
    """The glob when every request it covers beyond the group was approved, else the exact
    resources (a glob over `sessions-*` must not also cover a denied `sessions-admin`)."""
    approved = [r for r in group if r.outcome == APPROVED]
    exact = tuple(sorted({r.resource for r in approved}))
    if len(exact) > 1 and (glob := _glob(exact)) is not None:
        covered = _covered(records, action, environment, (glob,))
        members = {id(r) for r in group}
        if all(id(r) in members or r.outcome in _PLAINLY_APPROVED for r in covered):
            return (glob,), covered
    return exact, _covered(records, action, environment, exact)


def suggest(
    records: Iterable[HistoryRecord],
    *,
    min_approvals: int = 5,
    min_approvers: int = 2,
    policy: LoadedPolicy | None = None,
) -> list[Suggestion]:
    """Suggestions, most approved first; patterns `policy` already auto-approves are skipped."""
    history = list(records)
    groups: dict[tuple[str, str, str], list[HistoryRecord]] = defaultdict(list)
    for record in history:
        key = (record.action, resource_shape(record.resource), record.environment.lower())
        groups[key].append(record)
    found: list[Suggestion] = []
    for (action, _shape, environment), group in groups.items():
        if any(r.outcome in DENIALS or r.guardrail_codes or r.risk is not Risk.LOW for r in group):
            continue
        approved = [r for r in group if r.outcome == APPROVED]
        people = tuple(sorted({a.lower() for r in approved for a in r.approvers}))
        if len(approved) < min_approvals or len(people) < min_approvers:
            continue
        if policy is not None:
            facts = RequestFacts(action, approved[-1].resource, environment, requester="")
            if policy.evaluate(facts).outcome is Outcome.AUTO_APPROVE:
                continue
        resources, covered = _narrowest_safe(history, action, environment, group)
        times = sorted(r.decided_at for r in approved)
        suggestion = Suggestion(
            rule_id=_slug("auto", action, environment),
            action=action,
            resources=resources,
            environment=environment,
            approvals=len(approved),
            approvers=people,
            first_at=times[0],
            last_at=times[-1],
            would_auto_approve=tuple(r.id for r in sorted(covered, key=lambda r: r.decided_at)),
            snippet="",
        )
        found.append(replace(suggestion, snippet=_snippet(suggestion)))
    return sorted(found, key=lambda s: (-s.approvals, s.rule_id))
