"""suggest: narrow auto_approve proposals only for patterns humans always approved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml

from approvals.policy.engine import LoadedPolicy
from approvals.policy.loader import load_policy, parse_policy
from approvals.policy.suggest import HistoryRecord, suggest

START = datetime(2026, 1, 1, tzinfo=UTC)


def history(n: int, approvers: list[str], **overrides: object) -> list[HistoryRecord]:
    records = []
    for i in range(n):
        values: dict[str, object] = {
            "action": "s3.export",
            "resource": f"s3://clinical-exports/2026-{i + 1:02d}",
            "environment": "staging",
            "outcome": "approved",
            "approvers": (approvers[i % len(approvers)],),
            "guardrail_codes": (),
            "decided_at": START + timedelta(days=i),
        }
        values.update(overrides)
        records.append(HistoryRecord(**values))  # type: ignore[arg-type]
    return records


class TestSuggest:
    def test_always_approved_pattern_becomes_a_narrow_rule_with_evidence(self) -> None:
        (found,) = suggest(history(6, ["bob@example.org", "carol@example.org"]))
        assert (found.approvals, found.approvers) == (6, ("bob@example.org", "carol@example.org"))
        assert found.resource == "s3://clinical-exports/*"
        assert found.last_at == START + timedelta(days=5)
        assert "# evidence: 6 approvals by 2 approvers" in found.snippet
        (rule,) = yaml.safe_load(found.snippet)
        assert rule["match"]["risk_at_most"] == "low"
        assert rule["decision"] == {"auto_approve": True}

    def test_snippet_is_a_valid_rule(self) -> None:
        (found,) = suggest(history(6, ["bob@example.org", "carol@example.org"]))
        base = (
            "version: 1\ngroups: {g: {members: [a@x.org]}}\n"
            "defaults: {decision: {require: {from: [g]}}}\nrules:\n"
        )
        snippet = "\n".join("  " + line for line in found.snippet.splitlines())
        policy = parse_policy(base + snippet)
        assert isinstance(policy, LoadedPolicy)
        assert policy.document.rules[0].id == found.rule_id

    def test_a_single_denial_disqualifies(self) -> None:
        records = history(6, ["bob@example.org", "carol@example.org"])
        records += history(1, ["bob@example.org"], outcome="denied")
        assert suggest(records) == []

    def test_a_guardrail_finding_disqualifies(self) -> None:
        records = history(6, ["bob@example.org", "carol@example.org"])
        records += history(1, ["bob@example.org"], guardrail_codes=("sql.phi_read",))
        assert suggest(records) == []

    def test_too_few_approvals_or_a_single_approver_disqualify(self) -> None:
        assert suggest(history(4, ["bob@example.org", "carol@example.org"])) == []
        assert suggest(history(9, ["bob@example.org"])) == []

    def test_patterns_the_policy_already_auto_approves_are_skipped(self) -> None:
        records = history(6, ["bob@example.org", "carol@example.org"], environment="dev")
        assert len(suggest(records)) == 1
        assert suggest(records, policy=load_policy(None)) == []
