"""Guardrails: intent analysis of the commands in `params`, run before policy. Pure, never raises.

`params.sql` (text or list of statements, `params.dialect` optional) goes to `sql`;
`params.command` (a command line or an argv list) goes to `shell`, which hands kubectl to `kubectl`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from approvals.policy.decision import Risk
from approvals.policy.guardrails.findings import GuardrailFinding
from approvals.policy.guardrails.shell import analyze_command
from approvals.policy.guardrails.sql import DEFAULT_DIALECT, analyze_sql

__all__ = ["GuardrailFinding", "analyze", "risk_of"]


def analyze(
    params: Mapping[str, Any],
    *,
    phi_tables: Iterable[str] = (),
    allowed_destinations: Iterable[str] = (),
) -> list[GuardrailFinding]:
    """Findings for `params.sql` and `params.command`, de-duplicated, in a stable order."""
    if not isinstance(params, Mapping):  # intake validates, but guardrails must never raise
        return []  # type: ignore[unreachable]
    findings: list[GuardrailFinding] = []
    dialect = params.get("dialect")
    sql = params.get("sql")
    if sql is not None:
        findings += analyze_sql(
            sql,
            dialect=dialect if isinstance(dialect, str) and dialect else DEFAULT_DIALECT,
            phi_tables=tuple(phi_tables),
        )
    command = params.get("command")
    if command is not None:
        findings += analyze_command(
            command, allowed_destinations=tuple(allowed_destinations), phi_tables=tuple(phi_tables)
        )
    return list(dict.fromkeys(findings))


def risk_of(findings: list[GuardrailFinding]) -> Risk:
    return Risk.highest([finding.severity for finding in findings])
