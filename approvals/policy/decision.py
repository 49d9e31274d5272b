"""The policy seam: what intake tells the policy, and what the policy answers. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    BLOCK = "block"
    AUTO_APPROVE = "auto_approve"
    REQUIRE = "require"


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RISK_ORDER.index(self)

    @classmethod
    def highest(cls, risks: list[Risk], floor: Risk | None = None) -> Risk:
        candidates = [*risks, floor or cls.LOW]
        return max(candidates, key=lambda risk: risk.rank)


_RISK_ORDER = [Risk.LOW, Risk.MEDIUM, Risk.HIGH, Risk.CRITICAL]


class StepUp(StrEnum):
    """How an approver must re-prove who they are before an approval counts.

    `any` is what the policy's `step_up: true` means: a passkey or a fresh single sign-on.
    """

    ANY = "any"
    PASSKEY = "passkey"
    OIDC = "oidc"

    @property
    def words(self) -> str:
        """How a card or an explanation names it."""
        return {
            StepUp.ANY: "a passkey or a fresh single sign-on",
            StepUp.PASSKEY: "a passkey",
            StepUp.OIDC: "a fresh single sign-on",
        }[self]

    def accepts(self, method: str | None) -> bool:
        """`method` (the step-up the approver performed: passkey or oidc) satisfies this."""
        if method is None:
            return False
        return self is StepUp.ANY or method == self.value


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What policy may match on: raw identities and shapes, never context values."""

    action: str
    resource: str
    environment: str
    requester: str
    on_behalf_of: str | None = None
    tags: tuple[str, ...] = ()
    risk: Risk = Risk.LOW
    guardrail_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    rule_id: str
    policy_version: str
    message: str | None = None
    required_approvals: int = 0
    approver_groups: tuple[str, ...] = ()
    ttl_seconds: int = 3600
    channels: tuple[str, ...] = ()
    deny_ends: bool = True
    remind_after_seconds: int | None = None
    escalate_after_seconds: int | None = None
    escalate_to: tuple[str, ...] = ()
    step_up: StepUp | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # Why this rule: each condition of the matched rule that held (or "no rule matched").
    explanation: str = ""


class Policy(Protocol):
    """What the actions service needs from a loaded policy."""

    @property
    def version(self) -> str: ...

    def evaluate(self, facts: RequestFacts) -> Decision: ...

    def members(self, group: str) -> frozenset[str]:
        """Normalised (lower-case) emails of a group; empty for an unknown group."""
        ...
