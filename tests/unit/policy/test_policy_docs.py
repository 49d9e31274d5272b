"""The documented example policy in docs/policy.md is valid and behaves as its comments say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from approvals.actions.facts import request_facts, validate_body
from approvals.policy.check import check_text
from approvals.policy.decision import StepUp
from approvals.policy.explain import Explanation, explain
from approvals.policy.loader import parse_policy

DOC = Path(__file__).parents[3] / "docs" / "policy.md"


def explain_body(policy: Any, body: dict[str, Any]) -> Explanation:
    return explain(policy, *request_facts(policy, validate_body(body)))


def example() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text("utf-8"), re.S)
    return next(block for block in blocks if block.startswith("version: 1"))


class TestDocumentedExample:
    def test_it_checks_clean(self) -> None:
        assert check_text(example())[1] == []

    def test_rules_do_what_the_comments_say(self) -> None:
        policy = parse_policy(example(), "docs")
        base = {"action": "sql.execute", "resource": "db.ehr"}
        grant = explain_body(policy, {**base, "params": {"sql": "GRANT x TO y"}})
        etl = explain_body(
            policy,
            {
                **base,
                "action": "sql.select",
                "environment": "prod",
                "requester": "svc:nightly",
                "on_behalf_of": "Alice@example.org",
                "params": {"sql": "SELECT * FROM clinical.notes"},
            },
        )
        staging = explain_body(
            policy, {**base, "environment": "staging", "params": {"sql": "SELECT 1"}}
        )
        assert (grant.decision.rule_id, grant.decision.step_up) == ("prod-privileges", StepUp.ANY)
        assert etl.decision.rule_id == "etl-phi-reads"
        assert staging.decision.rule_id == "non-prod-auto"
