"""`approvals policy check|explain|test` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from policy_texts import BASE
from typer.testing import CliRunner

from approvals.cli.policy import app
from approvals.policy.loader import demo_policy_text

runner = CliRunner()
CASES = Path(__file__).parent / "cases"
DEMO = Path(__file__).parents[3] / "approvals" / "policy" / "demo_policy.yaml"


class TestCheckCommand:
    def test_valid_policy_exits_0(self, tmp_path: Path) -> None:
        path = tmp_path / "p.yaml"
        path.write_text(BASE)
        result = runner.invoke(app, ["check", str(path)])
        assert result.exit_code == 0, result.output
        assert "ok (6 rules, 2 groups" in result.output

    def test_invalid_policy_exits_1_with_positions(self, tmp_path: Path) -> None:
        path = tmp_path / "p.yaml"
        path.write_text(BASE.replace("from: [privacy]}", "from: [privacy-office]}"))
        result = runner.invoke(app, ["check", str(path)])
        assert result.exit_code == 1
        assert f"{path}:37:38: error:" in result.output
        assert "unknown group 'privacy-office'" in result.output

    def test_json_output(self, tmp_path: Path) -> None:
        path = tmp_path / "p.yaml"
        path.write_text("version: 1\n")
        result = runner.invoke(app, ["check", str(path), "--json"])
        assert result.exit_code == 1
        payload = json.loads(result.output)
        assert payload["valid"] is False
        assert payload["problems"][0]["message"].startswith("missing defaults")

    def test_unreadable_file_exits_1(self, tmp_path: Path) -> None:
        assert runner.invoke(app, ["check", str(tmp_path / "missing.yaml")]).exit_code == 1


class TestExplainCommand:
    def test_explains_the_matching_rule_and_earlier_misses(self, tmp_path: Path) -> None:
        request = tmp_path / "r.json"
        request.write_text(
            json.dumps({"action": "s3.export", "resource": "s3://x/1", "environment": "prod"})
        )
        result = runner.invoke(app, ["explain", "--request", str(request)])
        assert result.exit_code == 0, result.output
        assert "no    block-critical-in-prod: risk low is below critical" in result.output
        assert "MATCH phi-export-two-person" in result.output
        assert "require 2 approval(s) from privacy-office, dba-oncall" in result.output

    def test_json_output_names_rule_and_findings(self, tmp_path: Path) -> None:
        request, policy = tmp_path / "r.json", tmp_path / "p.yaml"
        policy.write_text(demo_policy_text())
        request.write_text(
            json.dumps(
                {"action": "sql.execute", "resource": "db.ehr", "params": {"sql": "TRUNCATE p"}}
            )
        )
        result = runner.invoke(
            app, ["explain", "--policy", str(policy), "--request", str(request), "--json"]
        )
        payload = json.loads(result.output)
        assert payload["decision"]["rule_id"] == "block-critical-in-prod"
        assert payload["guardrails"][0]["code"] == "sql.truncate"

    def test_a_request_that_is_not_an_object_exits_1(self, tmp_path: Path) -> None:
        request = tmp_path / "r.json"
        request.write_text("[1, 2]")
        assert runner.invoke(app, ["explain", "--request", str(request)]).exit_code == 1

    def test_a_missing_environment_is_prod_as_in_the_service(self, tmp_path: Path) -> None:
        request = tmp_path / "r.json"
        request.write_text(json.dumps({"action": "s3.export", "resource": "s3://x/1"}))
        result = runner.invoke(app, ["explain", "--request", str(request), "--json"])
        assert result.exit_code == 0, result.output
        payload = json.loads(result.output)
        assert payload["facts"]["environment"] == "prod"
        assert payload["decision"]["rule_id"] == "phi-export-two-person"

    def test_a_request_intake_would_refuse_exits_1_naming_the_fields(self, tmp_path: Path) -> None:
        request = tmp_path / "r.json"
        request.write_text(json.dumps({"action": 1, "environment": "Margaret Whitfield"}))
        result = runner.invoke(app, ["explain", "--request", str(request)])
        assert result.exit_code == 1
        assert "the service would refuse this request" in result.output
        assert "action: Input should be a valid string" in result.output
        assert "resource: Field required" in result.output
        assert "environment: String should match pattern" in result.output
        assert "Margaret" not in result.output
        assert "MATCH" not in result.output


class TestTestCommand:
    def test_demo_cases_pass(self) -> None:
        result = runner.invoke(app, ["test", str(CASES)])
        assert result.exit_code == 0, result.output
        assert "4 passed, 0 failed" in result.output

    def test_a_failing_case_exits_1_and_says_why(self, tmp_path: Path) -> None:
        (tmp_path / "c.yaml").write_text(
            "cases:\n  - name: wrong\n"
            "    request: {action: sql.execute, resource: db.dev, environment: dev}\n"
            "    expect: {decision: block, rule: defaults}\n"
        )
        result = runner.invoke(app, ["test", str(tmp_path), "--policy", str(DEMO)])
        assert result.exit_code == 1
        assert "FAIL" in result.output
        assert "decision: expected block, got auto_approve" in result.output
        assert "rule: expected defaults, got dev-auto" in result.output
        assert "Outcome." not in result.output

    def test_a_case_without_environment_is_judged_as_prod(self, tmp_path: Path) -> None:
        (tmp_path / "c.yaml").write_text(
            "cases:\n  - name: prod by default\n"
            "    request: {action: s3.export, resource: 's3://x/1'}\n"
            "    expect: {decision: require, rule: phi-export-two-person}\n"
        )
        result = runner.invoke(app, ["test", str(tmp_path), "--policy", str(DEMO)])
        assert result.exit_code == 0, result.output
        assert "1 passed, 0 failed" in result.output

    def test_a_case_intake_would_refuse_fails(self, tmp_path: Path) -> None:
        (tmp_path / "c.yaml").write_text(
            "cases:\n  - name: no resource\n    request: {action: 1}\n"
            "    expect: {decision: block}\n"
        )
        result = runner.invoke(app, ["test", str(tmp_path), "--policy", str(DEMO)])
        assert result.exit_code == 1
        assert "request: intake would refuse it (action: Input should be a valid string" in (
            result.output
        )

    def test_no_cases_is_a_failure(self, tmp_path: Path) -> None:
        assert runner.invoke(app, ["test", str(tmp_path)]).exit_code == 1
