"""SQL intent analysis with sqlglot: drops, truncates, unbounded writes, grants, exports, PHI reads.

Pure and total: any input, however malformed, yields findings rather than an exception; SQL that
cannot be parsed is a finding itself (fail closed: a reviewer sees "unknown intent").
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from fnmatch import fnmatchcase

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.simplify import simplify

from approvals.policy.decision import Risk
from approvals.policy.guardrails.findings import GuardrailFinding

DEFAULT_DIALECT = "postgres"
F = GuardrailFinding

UNPARSEABLE = F(
    "sql.unparseable", Risk.HIGH, "The SQL could not be parsed, so its intent is unknown."
)
MULTI = F("sql.multi_statement", Risk.MEDIUM, "Runs several statements in one batch.")
DROP_TABLE = F("sql.drop_table", Risk.CRITICAL, "Drops a table and all of its rows.")
DROP_SCHEMA = F("sql.drop_schema", Risk.CRITICAL, "Drops a whole schema or database.")
DROP_OBJECT = F("sql.drop_object", Risk.HIGH, "Drops a schema object (view, index, function…).")
DROP_COLUMN = F("sql.drop_column", Risk.HIGH, "Drops a column and the data in it.")
TRUNCATE = F("sql.truncate", Risk.CRITICAL, "Truncates a table: every row is deleted.")
DELETE_ALL = F("sql.delete_without_where", Risk.CRITICAL, "DELETE without WHERE deletes every row.")
DELETE_TAUT = F(
    "sql.delete_tautological_where",
    Risk.CRITICAL,
    "DELETE with an always-true WHERE (such as 1=1) deletes every row.",
)
UPDATE_ALL = F("sql.update_without_where", Risk.HIGH, "UPDATE without WHERE changes every row.")
UPDATE_TAUT = F(
    "sql.update_tautological_where",
    Risk.HIGH,
    "UPDATE with an always-true WHERE (such as 1=1) changes every row.",
)
GRANT = F("sql.grant", Risk.HIGH, "Grants privileges.")
REVOKE = F("sql.revoke", Risk.HIGH, "Revokes privileges.")
ALTER_ROLE = F("sql.alter_role", Risk.HIGH, "Creates, changes or drops a database role or user.")
COPY_TO = F("sql.copy_to", Risk.HIGH, "COPY … TO exports table data out of the database.")
COPY_PROGRAM = F(
    "sql.copy_program", Risk.CRITICAL, "COPY … PROGRAM runs a shell command on the database server."
)
OUTFILE = F("sql.into_outfile", Risk.HIGH, "SELECT … INTO OUTFILE writes query results to a file.")
EXPORT = F("sql.export", Risk.HIGH, "Exports data to an external location (UNLOAD, EXPORT DATA…).")
SERVER_FILE = F(
    "sql.server_file_access", Risk.HIGH, "Reads or writes files on the database server."
)
DISABLE_TRIGGER = F(
    "sql.disable_trigger",
    Risk.HIGH,
    "Disables or drops triggers (such as an audit table's append-only guard): changes then go "
    "unchecked and unrecorded.",
)
_REPLICA_ROLE = re.compile(r"\bsession_replication_role\s*=\s*'?(replica|local)\b", re.I)

# Patterns sqlglot cannot parse in every dialect; checked on the raw text before parsing.
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], GuardrailFinding], ...] = (
    (re.compile(r"\bINTO\s+(OUTFILE|DUMPFILE)\b", re.I), OUTFILE),
    (re.compile(r"^\s*UNLOAD\s*\(", re.I | re.M), EXPORT),
    (re.compile(r"\bEXPORT\s+DATA\b", re.I), EXPORT),
    (re.compile(r"\bCOPY\s+INTO\s+('?(@|s3://|gcs://|gs://|azure://|https?://))", re.I), EXPORT),
    (re.compile(r"\blo_export\s*\(", re.I), EXPORT),
    (re.compile(r"\bpg_(read|write)_(binary_)?file\s*\(|\bLOAD_FILE\s*\(", re.I), SERVER_FILE),
    (re.compile(r"^\s*DISABLE\s+TRIGGER\b", re.I | re.M), DISABLE_TRIGGER),  # SQL Server
)
# Statements sqlglot keeps as opaque `Command`s; judged by their leading words.
_COMMAND_PATTERNS: tuple[tuple[re.Pattern[str], GuardrailFinding], ...] = (
    (
        re.compile(
            r"^ALTER\s+(TABLE\b.*\bDISABLE\s+(TRIGGER|RULE)|EVENT\s+TRIGGER\b.*\bDISABLE)\b",
            re.I | re.S,
        ),
        DISABLE_TRIGGER,
    ),
    (re.compile(r"^(ALTER|CREATE|DROP)\s+(ROLE|USER|GROUP)\b", re.I), ALTER_ROLE),
    (re.compile(r"^(GRANT\b|ALTER\s+DEFAULT\s+PRIVILEGES\b)", re.I), GRANT),
    (re.compile(r"^REVOKE\b", re.I), REVOKE),
    (re.compile(r"^DROP\s+(SCHEMA|DATABASE)\b", re.I), DROP_SCHEMA),
    (re.compile(r"^DROP\s+TABLE\b", re.I), DROP_TABLE),
    (re.compile(r"^DROP\s+\w+", re.I), DROP_OBJECT),
    (re.compile(r"^TRUNCATE\b", re.I), TRUNCATE),
    (re.compile(r"^COPY\b.*\bPROGRAM\b", re.I | re.S), COPY_PROGRAM),
    (re.compile(r"^COPY\b.*\bTO\b", re.I | re.S), COPY_TO),
)
_STATEMENTS = (
    exp.Query,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Grant,
    exp.Revoke,
    exp.Copy,
    exp.Command,
    exp.Set,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Describe,
    exp.Export,
    exp.Pragma,
    exp.Analyze,
)


def _dialect(name: str) -> str:
    try:
        sqlglot.Dialect.get_or_raise(name)
    except Exception:  # an unknown dialect name: parse as the default rather than fail
        return DEFAULT_DIALECT
    return name


def _always_true(condition: exp.Expr) -> bool:
    """Conservative: True only when the condition holds for every row (or is constant)."""
    if isinstance(condition, exp.Paren):
        return _always_true(condition.this)
    if isinstance(condition, exp.Or):
        return _always_true(condition.left) or _always_true(condition.right)
    if isinstance(condition, exp.And):
        return _always_true(condition.left) and _always_true(condition.right)
    if isinstance(condition, (exp.EQ, exp.GTE, exp.LTE, exp.Like)):
        left, right = condition.left, condition.right
        if isinstance(left, exp.Column) and left == right:
            return True
    if condition.find(exp.Column) is not None or condition.find(exp.Subquery) is not None:
        return False
    try:
        reduced = simplify(condition.copy())
    except Exception:  # simplify has no error contract; an odd constant is still constant
        return True
    if isinstance(reduced, exp.Boolean):
        return bool(reduced.this)
    if isinstance(reduced, exp.Null):
        return False
    if isinstance(reduced, exp.Literal) and not reduced.is_string:
        try:
            return float(reduced.this) != 0
        except ValueError:
            return True
    # A row-independent condition that did not reduce to false: treat as always true.
    return True


def _unbounded(statement: exp.Expression, missing: F, tautology: F) -> list[F]:
    where = statement.args.get("where")
    if where is None:
        return [missing]
    return [tautology] if _always_true(where.this) else []


def _drop(node: exp.Drop) -> F:
    kind = str(node.args.get("kind") or "").upper()
    if kind == "TABLE":
        return DROP_TABLE
    if kind in {"SCHEMA", "DATABASE"}:
        return DROP_SCHEMA
    if kind == "COLUMN":
        return DROP_COLUMN
    if kind in {"TRIGGER", "EVENT TRIGGER", "RULE"}:
        return DISABLE_TRIGGER
    if kind in {"ROLE", "USER"}:
        return ALTER_ROLE
    return DROP_OBJECT


def _copy(node: exp.Copy) -> list[F]:
    files = " ".join(f.sql() for f in node.args.get("files") or [])
    if re.search(r"\bPROGRAM\b", files, re.I):
        return [COPY_PROGRAM]
    # sqlglot sets kind=True for COPY … FROM (a load) and False for COPY … TO (an export).
    return [] if node.args.get("kind") else [COPY_TO]


def _phi_reads(statement: exp.Expr, phi_tables: tuple[str, ...]) -> list[F]:
    names: set[str] = set()
    sources: list[exp.Expr] = list(statement.find_all(exp.Select))
    if isinstance(statement, exp.Copy) and not statement.args.get("kind"):
        sources.append(statement)
    for source in sources:
        for table in source.find_all(exp.Table):
            qualified = ".".join(part for part in (table.db, table.name) if part).lower()
            patterns = [p.lower() for p in phi_tables]
            if any(
                fnmatchcase(qualified, p) or fnmatchcase(table.name.lower(), p) for p in patterns
            ):
                names.add(qualified)
    return [
        F("sql.phi_read", Risk.MEDIUM, f"Reads {name}, a table the policy tags as PHI.")
        for name in sorted(names)
    ]


def _statement(statement: exp.Expr, phi_tables: tuple[str, ...]) -> list[F]:
    if not isinstance(statement, _STATEMENTS):
        return [UNPARSEABLE]
    found: list[F] = []
    if isinstance(statement, exp.Command):
        rest = statement.args.get("expression")
        rest = rest.sql() if isinstance(rest, exp.Expression) else str(rest or "")
        text = f"{statement.this} {rest}"
        for pattern, finding in _COMMAND_PATTERNS:
            if pattern.search(text.strip()):
                found.append(finding)
                break
        return found
    for node in statement.walk():
        if isinstance(node, exp.Drop):
            found.append(_drop(node))
        elif isinstance(node, exp.TruncateTable):
            found.append(TRUNCATE)
        elif isinstance(node, (exp.Delete, exp.Update)) and node.find_ancestor(exp.Merge):
            continue  # MERGE … WHEN MATCHED THEN UPDATE/DELETE is bounded by the ON condition
        elif isinstance(node, exp.Delete):
            found += _unbounded(node, DELETE_ALL, DELETE_TAUT)
        elif isinstance(node, exp.Update):
            found += _unbounded(node, UPDATE_ALL, UPDATE_TAUT)
        elif isinstance(node, exp.Grant):
            found.append(GRANT)
        elif isinstance(node, exp.Revoke):
            found.append(REVOKE)
        elif isinstance(node, exp.Copy):
            found += _copy(node)
        elif isinstance(node, exp.Export):
            found.append(EXPORT)
        elif isinstance(node, exp.Set) and _REPLICA_ROLE.search(node.sql(dialect="postgres")):
            found.append(DISABLE_TRIGGER)
    return found + _phi_reads(statement, phi_tables) if phi_tables else found


# Agents resubmit the same statements (values bound in `args`, not spliced in), and parsing
# one with sqlglot costs more than the rest of a submit's analysis: the findings of a text are
# remembered, keyed by its SHA-256 so no SQL (which may quote PHI) is kept in memory. Pure: the
# findings depend on the text, the dialect and the PHI tables only. Long texts are not kept.
_CACHE_ENTRIES = 2048
_CACHED_LENGTH = 8192


def _text(sql: str, dialect: str, phi_tables: tuple[str, ...]) -> tuple[list[F], int]:
    if len(sql) > _CACHED_LENGTH:
        return _parse(sql, dialect, phi_tables)
    key = (hashlib.sha256(sql.encode("utf-8", "surrogatepass")).digest(), dialect, phi_tables)
    with _remembered_lock:
        hit = _remembered.get(key)
        if hit is not None:
            _remembered.move_to_end(key)
            return list(hit[0]), hit[1]
    found, count = _parse(sql, dialect, phi_tables)
    with _remembered_lock:
        _remembered[key] = (tuple(found), count)
        if len(_remembered) > _CACHE_ENTRIES:
            _remembered.popitem(last=False)
    return found, count


_remembered: OrderedDict[tuple[bytes, str, tuple[str, ...]], tuple[tuple[F, ...], int]] = (
    OrderedDict()
)
_remembered_lock = threading.Lock()


def _parse(sql: str, dialect: str, phi_tables: tuple[str, ...]) -> tuple[list[F], int]:
    found = [finding for pattern, finding in _TEXT_PATTERNS if pattern.search(sql)]
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=dialect) if s is not None]
    except Exception:  # sqlglot raises several error types; any of them means "unknown intent"
        return [*found, UNPARSEABLE], 1
    for statement in statements:
        try:
            found += _statement(statement, phi_tables)
        except Exception:  # a parse tree shape we did not foresee: fail closed, never crash intake
            found.append(UNPARSEABLE)
    return found, len(statements)


def _leniently(sql: str, dialect: str, phi_tables: tuple[str, ...]) -> tuple[list[F], int]:
    """Each `;`-separated piece on its own; a piece that does not parse is judged by its leading
    words alone (`DROP TABLE …`), never reported as unparseable."""
    found: list[F] = [finding for pattern, finding in _TEXT_PATTERNS if pattern.search(sql)]
    pieces = [piece.strip() for piece in sql.split(";") if piece.strip()]
    for piece in pieces:
        more, _ = _text(piece, dialect, phi_tables)
        if UNPARSEABLE in more:
            more = [f for _p, f in _COMMAND_PATTERNS if _p.search(piece)][:1]
        found += more
    return [f for f in found if f is not UNPARSEABLE], len(pieces)


def analyze_sql(
    sql: object,
    *,
    dialect: str = DEFAULT_DIALECT,
    phi_tables: Iterable[str] = (),
    strict: bool = True,
) -> list[GuardrailFinding]:
    """Findings for one SQL text or a list of them; anything else is unparseable.

    `strict=False` is for SQL-shaped text found in other params (it may be prose that starts
    like SQL): what does not parse is read piece by piece instead of flagged as unparseable."""
    texts = [sql] if isinstance(sql, str) else sql
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return [UNPARSEABLE]
    tables = tuple(phi_tables)
    chosen = _dialect(dialect)
    found: list[F] = []
    count = 0
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            continue
        more, statements = _text(text, chosen, tables)
        if not strict and UNPARSEABLE in more:
            more, statements = _leniently(text, chosen, tables)
        found += more
        count += statements
    if count > 1:
        found.insert(0, MULTI)
    return list(dict.fromkeys(found))
