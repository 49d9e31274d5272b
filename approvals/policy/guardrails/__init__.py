"""Guardrails: intent analysis of the commands in `params`, run before policy. Pure, never raises.

`params.sql` (text or list of statements, `params.dialect` optional) goes to `sql`;
`params.command` (a command line or an argv list) goes to `shell`, which hands kubectl to `kubectl`.
Every other value, nested too, is classified by `params`: SQL-shaped text goes to `sql`,
command-shaped text and argv lists to `shell` (docs/policy.md "Where guardrails look").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from approvals.policy.decision import Risk
from approvals.policy.guardrails.findings import GuardrailFinding
from approvals.policy.guardrails.params import NOT_ANALYSED, code_in
from approvals.policy.guardrails.shell import analyze_command
from approvals.policy.guardrails.sql import DEFAULT_DIALECT, analyze_sql

__all__ = ["GuardrailFinding", "analyze", "risk_of"]

# Keys with a fixed meaning: analysed as SQL / a command whatever their shape, or not code.
_EXPLICIT = frozenset({"sql", "command", "dialect"})


def analyze(
    params: Mapping[str, Any],
    *,
    phi_tables: Iterable[str] = (),
    allowed_destinations: Iterable[str] = (),
) -> list[GuardrailFinding]:
    """Findings for `params.sql`, `params.command` and the SQL and commands found in every
    other value, de-duplicated, in a stable order."""
    if not isinstance(params, Mapping):  # intake validates, but guardrails must never raise
        return []  # type: ignore[unreachable]
    findings: list[GuardrailFinding] = []
    raw_dialect = params.get("dialect")
    dialect = raw_dialect if isinstance(raw_dialect, str) and raw_dialect else DEFAULT_DIALECT
    phi, allowed = tuple(phi_tables), tuple(allowed_destinations)
    sql = params.get("sql")
    if sql is not None:
        findings += analyze_sql(sql, dialect=dialect, phi_tables=phi)
    command = params.get("command")
    if command is not None:
        findings += analyze_command(command, allowed_destinations=allowed, phi_tables=phi)
    for code in code_in(params, skip=_EXPLICIT):
        if code.kind == "sql":
            findings += analyze_sql(code.value, dialect=dialect, phi_tables=phi, strict=False)
        elif code.kind == "too_much":
            findings.append(NOT_ANALYSED)
        else:
            findings += analyze_command(
                code.value, allowed_destinations=allowed, phi_tables=phi, strict=False
            )
    return list(dict.fromkeys(findings))


def risk_of(findings: list[GuardrailFinding]) -> Risk:
    return Risk.highest([finding.severity for finding in findings])
