"""Finding SQL and command text anywhere in `params`, not only under `sql` and `command`. Pure.

Callers name their arguments freely (`query`, `statement`, `script`, the SDK decorator's argument
names, nested job specs), so every string value is walked, nested too, and classified by shape:
text that starts like a SQL statement goes to `sql`, text with a known program in a command
position (`rm`, `kubectl`, `tar … | nc`, …) goes to `shell`, and a list of strings whose first
item is such a program is an argv. Anything else (prose, ids, numbers) is left alone, so a free
text field that merely mentions "delete" raises nothing.

Bounded: at most `MAX_VALUES` values are visited and `MAX_TEXTS` texts analysed, each up to
`MAX_CHARS` characters and `MAX_TOTAL_CHARS` in all (sqlglot parses about 64 KB of dense SQL a
second here). SQL- or command-shaped text beyond those bounds is not analysed but raises
`params.not_analysed`, so a reviewer knows to read it (fail closed, never silent).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from approvals.policy.decision import Risk
from approvals.policy.guardrails.findings import GuardrailFinding

MAX_VALUES = 2_000
MAX_TEXTS = 64
MAX_CHARS = 16_384
MAX_TOTAL_CHARS = 32_768
MAX_DEPTH = 32

NOT_ANALYSED = GuardrailFinding(
    "params.not_analysed",
    Risk.MEDIUM,
    "The parameters hold more SQL or command text than the guardrails analyse; read it in full.",
)

_LEAD = re.compile(r"^(\s+|--[^\n]*(\n|$)|/\*.*?\*/|\()*", re.S)
_SQL_SHAPE = re.compile(
    r"""^(
      SELECT\b[\s\S]*?(\bFROM\b|\(|\*|;)
    | WITH\s+(RECURSIVE\s+)?\w+\s*(\([^)]*\)\s*)?AS\s*\(
    | (INSERT|REPLACE|MERGE)\s+INTO\b
    | DELETE\s+(\S+\s+)?FROM\b
    | UPDATE\s+\S+\s+((AS\s+)?\w+\s+)?SET\b
    | DROP\s+(TABLE|SCHEMA|DATABASE|VIEW|MATERIALIZED|INDEX|TRIGGER|EVENT|FUNCTION|PROCEDURE
              |SEQUENCE|ROLE|USER|GROUP|TYPE|EXTENSION|OWNED|POLICY|RULE)\b
    | TRUNCATE\s+(TABLE\s+)?(?!(the|a|an|all|this|that|it|my|our|your|them)\b)["`\[\w]
    | ALTER\s+(TABLE|ROLE|USER|SCHEMA|DATABASE|DEFAULT\s+PRIVILEGES|SYSTEM|VIEW|INDEX
               |FUNCTION|EVENT\s+TRIGGER|GROUP|SEQUENCE)\b
    | CREATE\s+(OR\s+REPLACE\s+)?(TEMP\w*\s+|UNLOGGED\s+|UNIQUE\s+)?(TABLE|ROLE|USER|VIEW|INDEX
               |FUNCTION|PROCEDURE|TRIGGER|EVENT|SCHEMA|DATABASE|EXTENSION|POLICY|SEQUENCE
               |MATERIALIZED)\b
    | GRANT\s[\s\S]*\b(ON|TO)\b
    | REVOKE\s[\s\S]*\bFROM\b
    | COPY\s+([\w."]+\s*(\([^)]*\)\s*)?(TO|FROM)\b|\(\s*SELECT\b|INTO\s)
    | SET\s+(LOCAL\s+|SESSION\s+|GLOBAL\s+)?[\w.@]+\s*(=|TO\b)
    | UNLOAD\s*\(
    | EXPORT\s+DATA\b
    | DISABLE\s+TRIGGER\b
    | (CALL|EXEC|EXECUTE)\s+[\w.]+\s*(\(|$)
    | VACUUM\b
    | LOCK\s+TABLE\b
    | DO\s+\$
    )""",
    re.I | re.X,
)
PROGRAMS = frozenset(
    {
        "rm", "kubectl", "curl", "wget", "aws", "gsutil", "scp", "rsync", "pg_dump",
        "pg_dumpall", "pg_dropcluster", "mysqldump", "mongodump", "mongoexport", "dd", "wipefs",
        "shred", "psql", "mysql", "sh", "bash", "zsh", "dash", "ksh", "ssh", "chmod", "chown",
        "chgrp", "tar", "nc", "ncat", "netcat", "socat", "find", "sudo", "doas",
    }
)  # fmt: skip
_PROGRAM_WORDS = "|".join(sorted(map(re.escape, PROGRAMS))) + r"|mkfs(\.\w+)?"
_COMMAND_SHAPE = re.compile(
    r"(^|[|;&(`]|\$\()\s*((nohup|nice|exec|env|timeout\s+\S+)\s+(-\S+\s+)*)*"
    r"([A-Za-z_]\w*=\S*\s+)*(\S*/)?(" + _PROGRAM_WORDS + r")(\s|$)"
)

Kind = Literal["sql", "command", "argv", "too_much"]


@dataclass(frozen=True, slots=True)
class Code:
    """One piece of text (or argv) in params, and which analyser reads it."""

    kind: Kind
    value: str | list[str]


def classify(text: str) -> Literal["sql", "command"] | None:
    if _SQL_SHAPE.match(_LEAD.sub("", text, count=1)):
        return "sql"
    if _COMMAND_SHAPE.search(text):
        return "command"
    return None


def _is_argv(value: list[Any]) -> bool:
    return (
        bool(value)
        and all(isinstance(item, str) for item in value)
        and posixpath.basename(value[0]) in PROGRAMS
    )


def _values(params: Mapping[str, Any], skip: frozenset[str]) -> Iterator[Any]:
    """Every value under `params` (depth first), top-level `skip` keys left out, bounded."""
    stack: list[tuple[Any, int]] = [
        (value, 1) for key, value in reversed(list(params.items())) if key not in skip
    ]
    visited = 0
    while stack and visited < MAX_VALUES:
        value, depth = stack.pop()
        visited += 1
        yield value
        if depth >= MAX_DEPTH:
            continue
        if isinstance(value, Mapping):
            stack += [(v, depth + 1) for v in reversed(list(value.values()))]
        elif isinstance(value, list) and not _is_argv(value):
            stack += [(v, depth + 1) for v in reversed(value)]


def code_in(params: Mapping[str, Any], *, skip: frozenset[str] = frozenset()) -> list[Code]:
    """The SQL, command lines and argvs found in `params`, in document order."""
    found: list[Code] = []
    budget = MAX_TOTAL_CHARS
    for value in _values(params, skip):
        if isinstance(value, list) and _is_argv(value):
            kind: Kind | None = "argv"
        elif isinstance(value, str):
            kind = classify(value[:MAX_CHARS])
            if kind is not None and len(value) > MAX_CHARS:
                kind = "too_much"
        else:
            continue
        if kind is None:
            continue
        size = sum(map(len, value)) if isinstance(value, list) else len(value)
        if len(found) >= MAX_TEXTS or size > budget:
            kind = "too_much"
        budget -= size if kind != "too_much" else 0
        found.append(Code(kind, value if kind != "too_much" else ""))
    return found
