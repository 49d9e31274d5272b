"""`approvals redact`: JSON (or JSON Lines) on stdin → redacted JSON and findings on stdout.

Owns only the shell around `Redactor`: parsing, output shape, exit codes. Error messages name the
line and the reason, never the input text.

People run this once per document in pipelines, so it does not import Typer (which loads
pydantic and click, a third of the start-up time): `approvals.cli.main` hands `approvals
redact ...` straight to `main` here, which reads its two flags with argparse; the full Typer app
registers the same `run` with the same help texts (approvals/cli/__init__.py), so `approvals
--help` still lists it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any, TextIO

from approvals.redaction import Redacted, RedactionError, Redactor

SUMMARY = "Redact PHI from JSON on stdin (HIPAA Safe Harbor identifiers)."
DESCRIPTION = """Read one JSON document on stdin; write {"redacted": ..., "findings": [...]}.

With --jsonl, one output line per non-blank input line, in order; a line that is not valid
JSON, is nested too deeply or cannot be redacted gives {"line": N, "error": "..."} in its
place (the reason, never the input) and the stream goes on.

Exit status: 0 when every document was redacted; 1 when the document (or, with --jsonl, at
least one line) was not: the reason is on stderr, and with --jsonl in its error record."""
JSONL_HELP = "Read and write JSON Lines, one by one."
VALUES_ONLY_HELP = "Print only the redacted document, without findings."


def _render(result: Redacted, values_only: bool) -> str:
    payload: Any = (
        result.value
        if values_only
        else {"redacted": result.value, "findings": [asdict(f) for f in result.findings]}
    )
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _complain(message: str) -> None:
    sys.stderr.write(f"approvals redact: {message}\n")


def _parse(text: str) -> Any:
    """The JSON document, or ValueError with a reason that quotes nothing of the input."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:  # `json` gives up near 1,000 levels; the redactor's limit is lower
        raise ValueError("invalid JSON (nested too deeply)") from None


def _stream(redactor: Redactor, source: TextIO, values_only: bool) -> bool:
    """Redact line by line; a bad line becomes one error record and the stream goes on.

    Returns whether every line was redacted.
    """
    ok = True
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            out = _render(redactor.redact(_parse(line)), values_only)
        except ValueError as exc:  # bad JSON, or RedactionError (a ValueError)
            reason = f"cannot redact: {exc}" if isinstance(exc, RedactionError) else str(exc)
            _complain(f"line {number}: {reason}")
            out, ok = json.dumps({"line": number, "error": reason}), False
        sys.stdout.write(out + "\n")
        sys.stdout.flush()  # one line out per line in, as it goes: callers pipe long streams
    return ok


def run(jsonl: bool, values_only: bool) -> int:
    """The command itself; returns the exit status."""
    redactor = Redactor()
    if jsonl:
        return 0 if _stream(redactor, sys.stdin, values_only) else 1
    try:
        result = redactor.redact(_parse(sys.stdin.read()))
    except RedactionError as exc:
        _complain(f"cannot redact: {exc}")
        return 1
    except ValueError as exc:
        _complain(f"{exc} on stdin")
        return 1
    sys.stdout.write(_render(result, values_only) + "\n")
    return 0


def main(argv: list[str]) -> int:
    """`approvals redact [--jsonl] [--values-only]`, parsed without Typer (see the docstring)."""
    parser = argparse.ArgumentParser(
        prog="approvals redact",
        description=f"{SUMMARY}\n\n{DESCRIPTION}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--jsonl", action="store_true", help=JSONL_HELP)
    parser.add_argument("--values-only", action="store_true", help=VALUES_ONLY_HELP)
    args = parser.parse_args(argv)
    return run(args.jsonl, args.values_only)
