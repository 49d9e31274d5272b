"""`approvals redact` through Typer's CliRunner: JSON, JSON Lines, values only, bad input."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from approvals.cli.redact import app

runner = CliRunner()


class TestRedactCommand:
    def test_one_document_gives_redacted_and_findings(self):
        result = runner.invoke(app, [], input='{"note": "SSN 123-45-6789"}')
        assert result.exit_code == 0
        assert json.loads(result.stdout) == {
            "redacted": {"note": "SSN [SSN-1]"},
            "findings": [{"path": "$.note", "type": "SSN", "detector": "context", "count": 1}],
        }

    def test_jsonl_gives_one_line_per_input_line(self):
        lines = '{"a": "call 617-555-0134"}\n\n{"b": 1}\n'
        result = runner.invoke(app, ["--jsonl", "--values-only"], input=lines)
        assert result.exit_code == 0
        assert [json.loads(x) for x in result.stdout.splitlines()] == [
            {"a": "call [PHONE-1]"}, {"b": 1},
        ]  # fmt: skip

    def test_invalid_json_exits_1_without_echoing_the_input(self):
        result = runner.invoke(app, [], input="{John Smith")
        assert result.exit_code == 1
        assert "invalid JSON" in result.stderr
        assert "John" not in result.stderr

    def test_invalid_jsonl_line_names_the_line(self):
        result = runner.invoke(app, ["--jsonl"], input='{"a": 1}\nnot json\n')
        assert result.exit_code == 1
        assert "line 2: invalid JSON" in result.stderr
        assert len(result.stdout.splitlines()) == 1
