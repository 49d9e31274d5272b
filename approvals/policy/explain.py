"""Why a request gets its decision: guardrail findings, each rule tried and why it did or did
not match, and the resulting decision. Pure; the CLI prints it, tests read it. The facts are the
ones intake derives (`approvals.actions.facts`), never a second reading of the body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from approvals.policy import matching
from approvals.policy.decision import Decision, Outcome, RequestFacts
from approvals.policy.engine import LoadedPolicy
from approvals.policy.guardrails import GuardrailFinding


@dataclass(frozen=True, slots=True)
class RuleTrace:
    rule_id: str
    matched: bool
    checks: tuple[matching.Check, ...]

    @property
    def why_not(self) -> tuple[str, ...]:
        return tuple(check.detail for check in self.checks if not check.ok)


@dataclass(frozen=True, slots=True)
class Explanation:
    policy_version: str
    facts: RequestFacts
    findings: tuple[GuardrailFinding, ...]
    traces: tuple[RuleTrace, ...]
    skipped: tuple[str, ...]
    decision: Decision

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_version": self.policy_version,
            "facts": {**asdict(self.facts), "risk": self.facts.risk.value},
            "guardrails": [
                {"code": f.code, "severity": f.severity.value, "message": f.message}
                for f in self.findings
            ],
            "rules": [
                {
                    "id": t.rule_id,
                    "matched": t.matched,
                    "checks": [asdict(c) for c in t.checks],
                }
                for t in self.traces
            ],
            "not_evaluated": list(self.skipped),
            "decision": {**asdict(self.decision), "outcome": self.decision.outcome.value},
        }


def explain(
    policy: LoadedPolicy, facts: RequestFacts, findings: Sequence[GuardrailFinding]
) -> Explanation:
    """The facts come from `approvals.actions.facts.request_facts`, as at intake."""
    traces: list[RuleTrace] = []
    rules = policy.document.rules
    for rule in rules:
        checks = tuple(matching.checks(rule.match, facts, policy.members))
        matched = all(check.ok for check in checks)
        traces.append(RuleTrace(rule.id, matched, checks))
        if matched:
            break
    skipped = tuple(rule.id for rule in rules[len(traces) :])
    return Explanation(
        policy.version, facts, tuple(findings), tuple(traces), skipped, policy.evaluate(facts)
    )


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def describe(decision: Decision) -> str:
    if decision.outcome is Outcome.BLOCK:
        return f"block: {decision.message}"
    if decision.outcome is Outcome.AUTO_APPROVE:
        return "auto_approve (no reviewer; audited)"
    parts = [
        f"require {decision.required_approvals} approval(s) from "
        f"{', '.join(decision.approver_groups)} via {', '.join(decision.channels) or 'all'}",
        f"ttl {_duration(decision.ttl_seconds)}",
    ]
    if decision.remind_after_seconds:
        parts.append(f"remind after {_duration(decision.remind_after_seconds)}")
    if decision.escalate_after_seconds:
        parts.append(
            f"escalate after {_duration(decision.escalate_after_seconds)} "
            f"to {', '.join(decision.escalate_to)}"
        )
    if not decision.deny_ends:
        parts.append("a denial does not end the request")
    if decision.step_up:
        parts.append(f"approvers must step up: {decision.step_up.words}")
    return "; ".join(parts)


def render(explanation: Explanation) -> str:
    facts = explanation.facts
    lines = [
        f"policy {explanation.policy_version}",
        f"request {facts.action!r} on {facts.resource!r} in {facts.environment!r} "
        f"by {facts.requester!r}" + (f" for {facts.on_behalf_of!r}" if facts.on_behalf_of else ""),
        f"guardrails: risk {facts.risk}" + ("" if explanation.findings else " (no findings)"),
    ]
    lines += [f"  - {f.code} [{f.severity}] {f.message}" for f in explanation.findings]
    lines.append("rules:")
    for trace in explanation.traces:
        if trace.matched:
            why = "; ".join(c.detail for c in trace.checks) or "matches every request"
            lines.append(f"  MATCH {trace.rule_id}: {why}")
        else:
            lines.append(f"  no    {trace.rule_id}: {'; '.join(trace.why_not)}")
    if explanation.skipped:
        lines.append(
            f"  (not evaluated, an earlier rule matched: {', '.join(explanation.skipped)})"
        )
    if not any(t.matched for t in explanation.traces):
        lines.append("  no rule matched: the policy defaults decide")
    decision = explanation.decision
    lines.append(f"decision [{decision.rule_id}]: {describe(decision)}")
    return "\n".join(lines)
