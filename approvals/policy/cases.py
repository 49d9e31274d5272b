"""Table-driven policy tests written by a policy's owners: load case files, run them. Pure apart
from reading the files.

A case file (YAML) names the policy (relative to itself, unless the caller passes one) and cases:

    policy: ../policy.yaml
    cases:
      - name: prod exports need two people
        request: {action: s3.export, environment: prod, resource: "s3://x/1", requester: etl}
        expect: {decision: require, rule: phi-export-two-person, approvals: 2}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from approvals.policy.decision import Outcome, RequestFacts, Risk
from approvals.policy.engine import LoadedPolicy
from approvals.policy.explain import explain
from approvals.policy.guardrails import GuardrailFinding
from approvals.policy.loader import PolicyError, load_policy
from approvals.policy.schema import parse_duration

# How a case's request becomes facts: the caller passes intake's own reading
# (`approvals.actions.facts`), which raises ValueError for a body intake would refuse.
ReadRequest = Callable[
    [dict[str, Any], LoadedPolicy], tuple[RequestFacts, Sequence[GuardrailFinding]]
]


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    decision: Outcome | None = None
    rule: str | None = None
    approvals: int | None = None
    from_groups: list[str] | None = Field(None, alias="from")
    channels: list[str] | None = None
    ttl: str | int | None = None
    risk: Risk | None = None
    guardrails: list[str] | None = None
    message_contains: str | None = None


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    request: dict[str, Any]
    expect: Expect


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str | None = None
    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class CaseResult:
    file: str
    name: str
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def _show(value: object) -> str:
    """Values as a policy owner wrote them in YAML: `block`, not `<Outcome.BLOCK: 'block'>`."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return str(value)


def _compare(case: Case, policy: LoadedPolicy, read: ReadRequest) -> list[str]:
    try:
        facts, findings = read(case.request, policy)
    except ValueError as exc:
        return [f"request: intake would refuse it ({exc})"]
    result = explain(policy, facts, findings)
    decision, expect = result.decision, case.expect
    actual: dict[str, object] = {
        "decision": decision.outcome,
        "rule": decision.rule_id,
        "approvals": decision.required_approvals,
        "from": list(decision.approver_groups),
        "channels": list(decision.channels),
        "ttl": decision.ttl_seconds,
        "risk": result.facts.risk,
        "guardrails": sorted(result.facts.guardrail_codes),
    }
    wanted: dict[str, object] = {
        "decision": expect.decision,
        "rule": expect.rule,
        "approvals": expect.approvals,
        "from": expect.from_groups,
        "channels": expect.channels,
        "ttl": None if expect.ttl is None else parse_duration(expect.ttl),
        "risk": expect.risk,
        "guardrails": None if expect.guardrails is None else sorted(expect.guardrails),
    }
    failures = [
        f"{key}: expected {_show(value)}, got {_show(actual[key])}"
        for key, value in wanted.items()
        if value is not None and value != actual[key]
    ]
    if expect.message_contains and expect.message_contains not in (decision.message or ""):
        failures.append(
            f"message: expected to contain {expect.message_contains!r}, got {decision.message!r}"
        )
    return failures


def run_file(path: Path, read: ReadRequest, policy: LoadedPolicy | None = None) -> list[CaseResult]:
    """One result per case; a file that cannot be read or loaded is one failing result."""
    try:
        loaded = CaseFile.model_validate(yaml.safe_load(path.read_text("utf-8")))
        if policy is None:
            if loaded.policy is None:
                raise PolicyError("no policy: name one in the file (policy:) or pass --policy")
            policy = load_policy((path.parent / loaded.policy).resolve())
    except (OSError, yaml.YAMLError, ValidationError, PolicyError) as exc:
        return [CaseResult(str(path), "<file>", (str(exc),))]
    return [
        CaseResult(str(path), case.name, tuple(_compare(case, policy, read)))
        for case in loaded.cases
    ]


def case_files(directory: Path) -> list[Path]:
    if directory.is_file():
        return [directory]
    return sorted([*directory.rglob("*.yaml"), *directory.rglob("*.yml")])
