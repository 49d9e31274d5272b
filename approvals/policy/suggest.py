"""Fewer prompts over time: propose narrow `auto_approve` rules from decision history. Pure.

A proposal is text for a person to review and commit; nothing here changes a policy. Only
patterns humans always approved qualify: enough approvals, several distinct approvers, no
denial, and no guardrail finding on any request of the pattern.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

import yaml

from approvals.policy.decision import Outcome, RequestFacts
from approvals.policy.engine import LoadedPolicy

APPROVED = "approved"
DENIALS = frozenset({"denied", "rejected"})


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    action: str
    resource: str
    environment: str
    outcome: str  # the request's final status: approved, denied, expired, auto_approved…
    approvers: tuple[str, ...]
    guardrail_codes: tuple[str, ...]
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class Suggestion:
    rule_id: str
    action: str
    resource: str
    environment: str
    approvals: int
    approvers: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    snippet: str


def resource_shape(resource: str) -> str:
    """Path segments carrying digits (dates, ids, partitions) become `*`; the rest stays exact."""
    scheme, sep, rest = resource.rpartition("://")
    shaped = "/".join("*" if re.search(r"\d", part) else part for part in rest.split("/"))
    return scheme + sep + shaped


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
    )
    body = yaml.safe_dump([rule], sort_keys=False, default_flow_style=None, width=100)
    return evidence + body


def suggest(
    records: Iterable[HistoryRecord],
    *,
    min_approvals: int = 5,
    min_approvers: int = 2,
    policy: LoadedPolicy | None = None,
) -> list[Suggestion]:
    """Suggestions, most approved first; patterns `policy` already auto-approves are skipped."""
    groups: dict[tuple[str, str, str], list[HistoryRecord]] = defaultdict(list)
    for record in records:
        key = (record.action, resource_shape(record.resource), record.environment.lower())
        groups[key].append(record)
    found: list[Suggestion] = []
    for (action, shape, environment), group in groups.items():
        if any(r.outcome in DENIALS or r.guardrail_codes for r in group):
            continue
        approved = [r for r in group if r.outcome == APPROVED]
        people = tuple(sorted({a.lower() for r in approved for a in r.approvers}))
        if len(approved) < min_approvals or len(people) < min_approvers:
            continue
        exact = {r.resource for r in approved}
        resource = exact.pop() if len(exact) == 1 else shape
        if policy is not None:
            facts = RequestFacts(action, approved[-1].resource, environment, requester="")
            if policy.evaluate(facts).outcome is Outcome.AUTO_APPROVE:
                continue
        times = sorted(r.decided_at for r in approved)
        suggestion = Suggestion(
            rule_id=_slug("auto", action, environment),
            action=action,
            resource=resource,
            environment=environment,
            approvals=len(approved),
            approvers=people,
            first_at=times[0],
            last_at=times[-1],
            snippet="",
        )
        found.append(replace(suggestion, snippet=_snippet(suggestion)))
    return sorted(found, key=lambda s: (-s.approvals, s.rule_id))
