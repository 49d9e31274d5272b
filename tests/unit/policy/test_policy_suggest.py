"""suggest: narrow auto_approve proposals only for patterns humans always approved."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import yaml

from approvals.policy.decision import Risk
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
            "id": f"req-{i + 1}",
        }
        values.update(overrides)
        records.append(HistoryRecord(**values))  # type: ignore[arg-type]
    return records


class TestSuggest:
    def test_always_approved_pattern_becomes_a_narrow_rule_with_evidence(self) -> None:
        (found,) = suggest(history(6, ["bob@example.org", "carol@example.org"]))
        assert (found.approvals, found.approvers) == (6, ("bob@example.org", "carol@example.org"))
        assert found.resource == "s3://clinical-exports/2026-*"
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


def flushes(n: int = 6, **overrides: object) -> list[HistoryRecord]:
    """The issue's scenario: `cache.flush` on `redis.prod.sessions-N`, approved by two people."""
    values: dict[str, object] = {"action": "cache.flush", "environment": "prod"}
    values.update(overrides)
    return [
        replace(record, resource=f"redis.prod.sessions-{i + 1}", id=f"flush-{i + 1}")
        for i, record in enumerate(history(n, ["bob@example.org", "carol@example.org"], **values))
    ]


class TestSuggestionsNeverBroaderThanObserved:
    def test_six_flushes_of_prod_sessions_suggest_the_common_prefix_not_star(self) -> None:
        (found,) = suggest(flushes())
        assert found.resource == "redis.prod.sessions-*"
        (rule,) = yaml.safe_load(found.snippet)
        assert rule["match"]["resource"] == "redis.prod.sessions-*"
        assert rule["match"]["environment"] == "prod"

    def test_it_lists_the_past_requests_it_would_have_auto_approved(self) -> None:
        records = flushes()
        other = history(1, ["bob@example.org"], action="cache.flush", environment="prod")
        records.append(replace(other[0], resource="redis.prod.payments-1", id="payments"))
        (found,) = suggest(records)
        assert found.would_auto_approve == tuple(f"flush-{i}" for i in range(1, 7))
        assert "would have auto-approved 6 past requests: flush-1, flush-2" in found.snippet

    def test_a_glob_that_would_cover_a_denied_request_becomes_the_exact_list(self) -> None:
        denied = history(1, ["bob@example.org"], action="cache.flush", environment="prod")
        records = [
            *flushes(),
            replace(denied[0], resource="redis.prod.sessions-admin", id="x", outcome="denied"),
        ]
        (found,) = suggest(records)
        assert found.resource == [f"redis.prod.sessions-{i}" for i in range(1, 7)]
        assert "x" not in found.would_auto_approve

    def test_resources_without_common_literal_text_stay_an_exact_list(self) -> None:
        records = [replace(r, resource=f"{i}{i}-{i}") for i, r in enumerate(flushes(), start=1)]
        (found,) = suggest(records)
        assert found.resource == sorted(f"{i}{i}-{i}" for i in range(1, 7))

    def test_common_suffix_is_kept(self) -> None:
        records = [replace(r, resource=r.resource + ".cache") for r in flushes()]
        (found,) = suggest(records)
        assert found.resource == "redis.prod.sessions-*.cache"

    def test_high_risk_or_guardrail_flagged_requests_are_never_auto_approved(self) -> None:
        risky = flushes()
        risky[2] = replace(risky[2], risk=Risk.HIGH)
        assert suggest(risky) == []
        flagged = flushes()
        flagged[0] = replace(flagged[0], guardrail_codes=("shell.rm_root",))
        assert suggest(flagged) == []

    def test_resources_of_other_shapes_never_join_the_group(self) -> None:
        records = flushes()
        extra = history(6, ["bob@example.org", "carol@example.org"], action="cache.flush")
        records += [
            replace(r, resource=f"redis.prod.payments{i}", environment="prod", id=f"p{i}")
            for i, r in enumerate(extra)
        ]
        found = {s.resource for s in suggest(records)}  # type: ignore[misc]
        assert found == {"redis.prod.sessions-*", "redis.prod.payments*"}
