"""The finding type every analyser returns. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from approvals.policy.decision import Risk


@dataclass(frozen=True, slots=True)
class GuardrailFinding:
    """`code` is stable (policies match on it); `message` is a sentence for the reviewer."""

    code: str
    severity: Risk
    message: str
