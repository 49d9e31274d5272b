"""`approvals redact` as people run it (`python -m approvals redact`, the fast path that skips
Typer) and through the full Typer app: JSON, JSON Lines, values only, bad input, start-up time."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from typer.testing import CliRunner

from approvals.cli import app


def _run(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "approvals", "redact", *args],
        input=stdin, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


class TestRedactCommand:
    def test_one_document_gives_redacted_and_findings(self):
        result = _run(stdin='{"note": "SSN 123-45-6789"}')
        assert result.returncode == 0
        assert json.loads(result.stdout) == {
            "redacted": {"note": "SSN [SSN-1]"},
            "findings": [{"path": "$.note", "type": "SSN", "detector": "context", "count": 1}],
        }

    def test_the_typer_app_runs_the_same_command(self):
        result = CliRunner().invoke(
            app, ["redact", "--values-only"], input='{"n": "SSN 123-45-6789"}'
        )
        assert result.exit_code == 0
        assert json.loads(result.stdout) == {"n": "SSN [SSN-1]"}

    def test_jsonl_gives_one_line_per_input_line(self):
        lines = '{"a": "call 617-555-0134"}\n\n{"b": 1}\n'
        result = _run("--jsonl", "--values-only", stdin=lines)
        assert result.returncode == 0
        assert [json.loads(x) for x in result.stdout.splitlines()] == [
            {"a": "call [PHONE-1]"}, {"b": 1},
        ]  # fmt: skip

    def test_invalid_json_exits_1_without_echoing_the_input(self):
        result = _run(stdin="{John Smith")
        assert result.returncode == 1
        assert "invalid JSON" in result.stderr
        assert "John" not in result.stderr + result.stdout

    def test_a_bad_jsonl_line_gives_one_error_record_and_the_stream_goes_on(self):
        deep = "[" * 5000 + "]" * 5000  # past json's own recursion limit
        too_deep = '{"a":' * 70 + '"x"' + "}" * 70  # deeper than the redactor's 64 levels
        lines = "\n".join(['{"a": "SSN 123-45-6789"}', "{John Smith", deep, too_deep, '{"b": 1}'])
        result = _run("--jsonl", "--values-only", stdin=lines + "\n")
        assert result.returncode == 1
        out = [json.loads(x) for x in result.stdout.splitlines()]
        assert out[0] == {"a": "SSN [SSN-1]"} and out[4] == {"b": 1}
        assert [o["line"] for o in out[1:4]] == [2, 3, 4]
        assert out[1]["error"].startswith("invalid JSON")
        assert out[2]["error"] == "invalid JSON (nested too deeply)"
        assert out[3]["error"].startswith("cannot redact: ") and "deeper than" in out[3]["error"]
        assert "John" not in result.stdout + result.stderr
        assert result.stderr.count("approvals redact: line ") == 3

    def test_help_documents_the_exit_status(self):
        result = _run("--help", stdin="")
        assert result.returncode == 0
        assert "Exit status: 0 when every document was redacted" in result.stdout
        assert "--jsonl" in result.stdout and "--values-only" in result.stdout

    def test_one_document_answers_without_loading_typer_or_the_service(self):
        probe = (
            "import io, json, sys; sys.argv = ['approvals', 'redact']; "
            'sys.stdin = io.StringIO(\'{"a": "John Smith"}\'); from approvals.cli import main\n'
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = ('typer', 'click', 'rich', 'pydantic', 'faker', 'approvals.config', "
            "'approvals.policy', 'structlog', 'sqlglot')\n"
            "print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)"
        )
        result = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
        )
        assert json.loads(result.stderr.splitlines()[-1]) == []
        assert json.loads(result.stdout)["redacted"] == {"a": "[NAME-1]"}

    def test_one_document_takes_under_0_3_s_of_cpu(self):
        # CPU time of the child (user + system), best of three: on a quiet machine the wall
        # time is this plus a few milliseconds; a busy one only adds waiting. Was 0.72-0.9 s.
        best = float("inf")
        for _ in range(3):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            result = _run("--values-only", stdin='{"note": "John Smith, MRN 12345678"}')
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert result.returncode == 0
            best = min(best, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        assert best < 0.3, f"{best:.2f} s of CPU for one document"
