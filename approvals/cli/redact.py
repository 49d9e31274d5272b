"""`approvals redact`: JSON (or JSON Lines) on stdin → redacted JSON and findings on stdout.

Owns only the shell around `Redactor`: parsing, output shape, exit codes. Error messages name the
line and the reason, never the input text.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any, TextIO

import typer

from approvals.redaction import Redacted, RedactionError, Redactor

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Redact PHI from JSON on stdin (HIPAA Safe Harbor identifiers).",
    pretty_exceptions_enable=False,
)


def _render(result: Redacted, values_only: bool) -> str:
    payload: Any = (
        result.value
        if values_only
        else {"redacted": result.value, "findings": [asdict(f) for f in result.findings]}
    )
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _fail(message: str) -> typer.Exit:
    typer.echo(f"approvals redact: {message}", err=True)
    return typer.Exit(code=1)


def _stream(redactor: Redactor, source: TextIO, values_only: bool) -> None:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(f"line {number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        try:
            result = redactor.redact(document)
        except RedactionError as exc:
            raise _fail(f"line {number}: cannot redact: {exc}") from None
        sys.stdout.write(_render(result, values_only) + "\n")
        sys.stdout.flush()  # one line out per line in, as it goes: callers pipe long streams


@app.command()
def redact(
    jsonl: bool = typer.Option(False, "--jsonl", help="Read and write JSON Lines, one by one."),
    values_only: bool = typer.Option(
        False, "--values-only", help="Print only the redacted document, without findings."
    ),
) -> None:
    """Read one JSON document on stdin; write {"redacted": ..., "findings": [...]}."""
    redactor = Redactor()
    if jsonl:
        _stream(redactor, sys.stdin, values_only)
        return
    try:
        document = json.loads(sys.stdin.read())
    except json.JSONDecodeError as exc:
        raise _fail(
            f"invalid JSON on stdin ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    try:
        result = redactor.redact(document)
    except RedactionError as exc:
        raise _fail(f"cannot redact: {exc}") from None
    sys.stdout.write(_render(result, values_only) + "\n")
