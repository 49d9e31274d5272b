"""A loaded policy: evaluate facts; the first matching rule wins, else the defaults. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from approvals.policy import matching
from approvals.policy.decision import Decision, Outcome, RequestFacts, StepUp
from approvals.policy.guardrails import GuardrailFinding, analyze
from approvals.policy.schema import PolicyDocument, Verdict

DEFAULT_RULE_ID = "defaults"


def _step_up(value: bool | str) -> StepUp | None:
    """`true` predates the named methods and keeps meaning "passkey or fresh sign-in"."""
    if value is False:
        return None
    return StepUp.ANY if value is True else StepUp(value)


@dataclass(frozen=True, slots=True)
class CustomPattern:
    type: str
    pattern: str


@dataclass(frozen=True, slots=True)
class RedactionSettings:
    """What the policy adds to redaction; the redaction package reads it (policy never calls it)."""

    extra_keys: tuple[str, ...] = ()
    custom_patterns: tuple[CustomPattern, ...] = ()
    keep_keys: tuple[str, ...] = ()


class LoadedPolicy:
    """One validated policy file, identified by the hash of its text (`version`)."""

    def __init__(self, document: PolicyDocument, version: str, source: str = "<policy>") -> None:
        self.document = document
        self.source = source
        self._version = version
        section = document.redaction
        self.redaction = RedactionSettings(
            extra_keys=section.extra_keys,
            custom_patterns=tuple(
                CustomPattern(p.type, p.pattern) for p in section.custom_patterns
            ),
            keep_keys=section.keep_keys,
        )
        self.card_fields = document.card_fields

    @property
    def version(self) -> str:
        return self._version

    def members(self, group: str) -> frozenset[str]:
        found = self.document.groups.get(group)
        return frozenset(found.members) if found else frozenset()

    def analyze(self, params: Mapping[str, Any]) -> list[GuardrailFinding]:
        """Guardrails with this policy's PHI tables and allowed destinations."""
        section = self.document.guardrails
        return analyze(
            params,
            phi_tables=section.phi_tables,
            allowed_destinations=section.allowed_destinations,
        )

    def evaluate(self, facts: RequestFacts) -> Decision:
        for rule in self.document.rules:
            found = matching.checks(rule.match, facts, self.members)
            if all(check.ok for check in found):
                why = "; ".join(check.detail for check in found) or "the rule matches everything"
                return self.decide(rule.id, rule.decision, f"rule {rule.id!r}: {why}")
        return self.decide(
            DEFAULT_RULE_ID, self.document.defaults.decision, "no rule matched: policy defaults"
        )

    def decide(self, rule_id: str, verdict: Verdict, explanation: str = "") -> Decision:
        defaults = self.document.defaults
        if verdict.block is not None:
            return Decision(
                Outcome.BLOCK,
                rule_id,
                self.version,
                message=verdict.block,
                ttl_seconds=defaults.ttl,
                explanation=explanation,
            )
        require = verdict.require
        if require is None:
            return Decision(
                Outcome.AUTO_APPROVE,
                rule_id,
                self.version,
                ttl_seconds=defaults.ttl,
                explanation=explanation,
            )

        def capped(seconds: int | None) -> int | None:
            return None if seconds is None else min(seconds, defaults.max_ttl)

        return Decision(
            Outcome.REQUIRE,
            rule_id,
            self.version,
            required_approvals=require.approvals,
            approver_groups=require.from_groups,
            # max_ttl caps every rule: nobody may leave a privileged request open for a week.
            ttl_seconds=min(require.ttl or defaults.ttl, defaults.max_ttl),
            channels=require.channels if require.channels is not None else defaults.channels,
            deny_ends=require.deny_ends,
            remind_after_seconds=capped(require.remind_after),
            escalate_after_seconds=capped(require.escalate_after),
            escalate_to=require.escalate_to,
            step_up=_step_up(require.step_up),
            explanation=explanation,
        )
