"""Engine: matching, ordering, defaults, quorum settings; plus determinism and totality."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_texts import BASE

from approvals.actions.facts import InvalidBody, request_facts, validate_body
from approvals.policy.decision import Outcome, RequestFacts, Risk, StepUp
from approvals.policy.explain import Explanation, describe, explain
from approvals.policy.loader import PolicyError, load_policy, parse_policy

POLICY = parse_policy(BASE, "base")


def explain_body(policy: Any, body: object) -> Explanation:
    return explain(policy, *request_facts(policy, validate_body(body)))


def facts(**overrides: Any) -> RequestFacts:
    values: dict[str, Any] = {
        "action": "sql.execute",
        "resource": "db.encounters",
        "environment": "prod",
        "requester": "alice@example.org",
    }
    values.update(overrides)
    return RequestFacts(**values)


class TestMatching:
    @pytest.mark.parametrize(
        ("overrides", "rule"),
        [
            ({"guardrail_codes": ("sql.drop_table",), "risk": Risk.CRITICAL}, "block-drops"),
            ({"guardrail_codes": ("sql.drop_table",), "environment": "dev"}, "defaults"),
            ({"action": "s3.export"}, "exports"),
            ({"action": "s3.export", "environment": "STAGING"}, "exports"),
            ({"action": "s3.export", "environment": "dev"}, "defaults"),
            ({"action": "sql.select"}, "regex-action"),
            ({"action": "sql.selectx"}, "defaults"),
            ({"action": "sql.select", "risk": Risk.MEDIUM}, "defaults"),
            ({"requester": "svc:etl", "on_behalf_of": "bob@example.org"}, "bots-for-dbas"),
            ({"requester": "svc:etl", "on_behalf_of": "alice@example.org"}, "defaults"),
            ({"requester": "svc:etl"}, "defaults"),
            ({"tags": ("PHI", "bulk", "other")}, "tagged"),
            ({"tags": ("phi",)}, "defaults"),
            ({"risk": Risk.HIGH}, "high-risk"),
            ({"risk": Risk.CRITICAL, "action": "s3.export"}, "exports"),
        ],
    )
    def test_first_matching_rule_decides(self, overrides: dict[str, Any], rule: str) -> None:
        assert POLICY.evaluate(facts(**overrides)).rule_id == rule

    def test_block_carries_the_rules_message(self) -> None:
        decision = POLICY.evaluate(facts(guardrail_codes=("sql.drop_schema",)))
        assert (decision.outcome, decision.message) == (Outcome.BLOCK, "No drops in prod.")

    def test_auto_approve_names_its_rule_and_explains(self) -> None:
        decision = POLICY.evaluate(facts(action="sql.explain"))
        assert decision.outcome is Outcome.AUTO_APPROVE
        assert "matches" in decision.explanation
        assert decision.policy_version == POLICY.version


class TestDefaultsAndQuorum:
    def test_defaults_apply_when_no_rule_matches(self) -> None:
        decision = POLICY.evaluate(facts())
        assert (decision.outcome, decision.rule_id) == (Outcome.REQUIRE, "defaults")
        assert decision.required_approvals == 1
        assert decision.approver_groups == ("dba-oncall",)
        assert (decision.ttl_seconds, decision.channels) == (3600, ("web",))

    def test_rule_settings_reach_the_decision_with_ttl_capped(self) -> None:
        decision = POLICY.evaluate(facts(action="db.export"))
        assert decision.required_approvals == 2
        assert decision.approver_groups == ("privacy", "dba-oncall")
        assert decision.channels == ("web", "slack:C0123")
        assert decision.ttl_seconds == 4 * 3600  # 8h asked, max_ttl 4h
        assert (decision.remind_after_seconds, decision.escalate_after_seconds) == (1800, 3600)
        assert decision.escalate_to == ("teams:oncall",)
        assert (decision.deny_ends, decision.step_up) == (False, StepUp.ANY)

    @pytest.mark.parametrize(
        ("written", "meant"),
        [("true", StepUp.ANY), ("passkey", StepUp.PASSKEY), ("oidc", StepUp.OIDC), ("false", None)],
    )
    def test_step_up_forms(self, written: str, meant: StepUp | None) -> None:
        text = BASE.replace("step_up: true", f"step_up: {written}")
        decision = parse_policy(text, "v").evaluate(facts(action="db.export"))
        assert decision.step_up is meant
        said = describe(decision)
        assert ("must step up" in said) is (meant is not None)

    def test_step_up_refuses_an_unknown_method(self) -> None:
        with pytest.raises(ValueError, match="step_up"):
            parse_policy(BASE.replace("step_up: true", "step_up: sms"), "v")

    def test_rule_without_channels_uses_the_default_channels(self) -> None:
        assert POLICY.evaluate(facts(risk=Risk.HIGH)).channels == ("web",)

    def test_members_are_lower_case_and_unknown_groups_empty(self) -> None:
        assert POLICY.members("dba-oncall") == {"bob@example.org", "carol@example.org"}
        assert POLICY.members("nobody") == frozenset()


class TestGroupMembers:
    def test_members_are_stored_in_the_one_identity_spelling(self) -> None:
        text = BASE.replace(
            "[Bob@Example.org, carol@example.org]",
            '["Bob <Bob@Example.org>", "mailto:car\u200bol\uff20example.org"]',
        )
        assert parse_policy(text).members("dba-oncall") == {
            "bob@example.org",
            "carol@example.org",
        }

    def test_a_member_that_is_no_identity_fails_the_policy(self) -> None:
        text = BASE.replace("[Bob@Example.org, carol@example.org]", "[Bob Smith]")
        with pytest.raises(PolicyError, match="not a valid identity"):
            parse_policy(text)


class TestDemoPolicy:
    def test_default_is_one_dba_on_the_web_for_an_hour(self) -> None:
        demo = load_policy(None)
        decision = demo.evaluate(facts(environment="staging"))
        assert decision.rule_id == "defaults"
        assert (decision.required_approvals, decision.approver_groups) == (1, ("dba-oncall",))
        assert (decision.channels, decision.ttl_seconds) == (("web",), 3600)
        assert "admin@approvals.local" in demo.members("dba-oncall")

    @pytest.mark.parametrize(
        ("request_body", "rule", "outcome"),
        [
            (
                {"environment": "prod", "params": {"sql": "DROP TABLE x"}},
                "block-critical-in-prod",
                "block",
            ),
            ({"environment": "prod", "action": "s3.export"}, "phi-export-two-person", "require"),
            ({"environment": "dev", "params": {"sql": "SELECT 1"}}, "dev-auto", "auto_approve"),
            ({"environment": "dev", "params": {"sql": "TRUNCATE x"}}, "defaults", "require"),
            ({"environment": "prod", "action": "k8s.scale"}, "prod-cluster-changes", "require"),
        ],
    )
    def test_demo_rules(self, request_body: dict[str, Any], rule: str, outcome: str) -> None:
        body = {"action": "sql.execute", "resource": "db.ehr", **request_body}
        result = explain_body(load_policy(None), body)
        assert (result.decision.rule_id, result.decision.outcome.value) == (rule, outcome)

    def test_demo_exposes_redaction_settings(self) -> None:
        redaction = load_policy(None).redaction
        assert "member_id" in redaction.extra_keys
        assert redaction.custom_patterns[0].type == "PATIENT_ID"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
request_shapes = (
    st.dictionaries(
        st.sampled_from(
            ["action", "resource", "environment", "requester", "on_behalf_of", "tags", "params"]
        ),
        json_values,
    )
    | json_values
)
params = st.fixed_dictionaries(
    {},
    optional={
        "sql": st.text(max_size=60) | st.lists(st.text(max_size=30), max_size=3),
        "command": st.text(max_size=60) | st.lists(st.text(max_size=15), max_size=4),
        "dialect": st.sampled_from(["postgres", "mysql", "bigquery", "nonsense"]),
    },
)


class TestProperties:
    @settings(max_examples=150, deadline=None)
    @given(request_shapes)
    def test_any_request_shape_is_judged_or_refused_by_name(self, body: object) -> None:
        try:
            result = explain_body(POLICY, body)
        except InvalidBody as exc:
            refusal = str(exc)
        else:
            refusal = ""
            assert result.decision.outcome in set(Outcome)
        assert refusal or result

    @settings(max_examples=100, deadline=None)
    @given(params, st.sampled_from(["prod", "dev", "staging"]), st.text(max_size=20))
    def test_evaluation_is_deterministic(self, p: dict[str, Any], env: str, action: str) -> None:
        body = {"action": "sql.execute", "resource": action or "x", "environment": env}
        parsed = validate_body({**body, "requester": "svc:x", "params": p})
        first, _ = request_facts(POLICY, parsed)
        second, _ = request_facts(POLICY, parsed)
        assert first == second
        assert POLICY.evaluate(first) == POLICY.evaluate(second)
