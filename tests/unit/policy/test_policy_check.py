"""`policy check` problems carry the line and column of what to fix, for each kind of error."""

from __future__ import annotations

import pytest
from policy_texts import BASE

from approvals.policy.check import check_text
from approvals.policy.loader import PolicyError, parse_policy

MINIMAL = """\
version: 1
groups:
  dba: {members: [a@example.org]}
defaults:
  decision:
    require: {approvals: 1, from: [dba]}
rules:
  - id: one
    match: {action: "sql.*"}
    decision: {auto_approve: true}
"""


def problems(text: str) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.message) for p in check_text(text)[1] if p.severity == "error"]


class TestCheck:
    def test_valid_policies_have_no_errors(self) -> None:
        assert problems(BASE) == []
        assert problems(MINIMAL) == []

    def test_yaml_syntax_error_has_its_position(self) -> None:
        found = problems("version: 1\ngroups: {a: [x\n")
        assert len(found) == 1
        assert found[0][2].startswith("invalid YAML")
        assert found[0][0] == 3

    def test_unknown_key_points_at_the_key_with_a_suggestion(self) -> None:
        text = MINIMAL.replace('match: {action: "sql.*"}', 'match: {actoin: "sql.*"}')
        assert problems(text) == [
            (9, 13, "unknown key 'actoin' in rules[0].match; did you mean 'action'?")
        ]

    def test_unknown_group_points_at_the_reference(self) -> None:
        text = MINIMAL.replace("from: [dba]", "from: [dbas]")
        ((line, column, message),) = problems(text)
        assert (line, column) == (6, 36)
        assert message == "unknown group 'dbas' (dba)"

    def test_shadowed_rule_is_unreachable(self) -> None:
        text = MINIMAL + (
            "  - id: two\n"
            '    match: {action: "sql.execute", environment: prod}\n'
            "    decision: {block: stop}\n"
        )
        ((line, column, message),) = problems(text)
        assert (line, column) == (11, 5), message
        assert message == (
            "rule 'two' is unreachable: the earlier rule 'one' (line 8) "
            "matches every request it would"
        )

    def test_narrower_earlier_rule_does_not_shadow(self) -> None:
        text = MINIMAL.replace('"sql.*"', '"sql.execute"') + (
            '  - id: two\n    match: {action: "sql.*"}\n    decision: {block: stop}\n'
        )
        assert problems(text) == []

    def test_missing_default_is_an_error(self) -> None:
        text = "version: 1\ngroups: {}\nrules: []\n"
        assert problems(text) == [
            (1, 1, "missing defaults: every policy needs an explicit default decision")
        ]

    @pytest.mark.parametrize(
        ("old", "new", "position", "fragment"),
        [
            ("approvals: 1", "approvals: 0", (6, 15), "greater than or equal to 1"),
            ("{auto_approve: true}", "{auto_approve: true, block: x}", (10, 5), "exactly one of"),
            ('"sql.*"', '"re:sql.("', (9, 13), "invalid regex"),
            ("from: [dba]}", "from: [dba], ttl: soon}", (6, 42), "invalid duration"),
        ],
    )
    def test_bad_values_point_at_their_field(
        self, old: str, new: str, position: tuple[int, int], fragment: str
    ) -> None:
        ((line, column, message),) = problems(MINIMAL.replace(old, new))
        assert fragment in message
        assert (line, column) == position

    def test_duplicate_keys_and_rule_ids_are_errors(self) -> None:
        dup_rule = MINIMAL + "  - id: one\n    match: {action: x}\n    decision: {block: b}\n"
        assert any("duplicate rule id 'one'" in m for _, _, m in problems(dup_rule))
        dup_key = MINIMAL.replace("version: 1\n", "version: 1\nversion: 1\n")
        assert problems(dup_key)[0][:2] == (2, 1)

    def test_unreachable_quorum_is_a_warning(self) -> None:
        text = MINIMAL.replace("{auto_approve: true}", "{require: {approvals: 3, from: [dba]}}")
        (warning,) = check_text(text)[1]
        assert warning.severity == "warning"
        assert "needs 3 approvals" in warning.message

    def test_loader_refuses_what_check_rejects(self) -> None:
        with pytest.raises(PolicyError) as caught:
            parse_policy(MINIMAL.replace("from: [dba]", "from: [dbas]"), "p.yaml")
        assert str(caught.value).startswith("p.yaml:6:36: error: unknown group")
        assert caught.value.problems[0].line == 6
