"""Write a command's new rows in one database round trip.

Why: a submit only inserts (its request, audit events, outbox rows, a notice or a release
token), and through the ORM each of those was its own statement, plus BEGIN, COMMIT and the
unit of work's bookkeeping: on PostgreSQL six round trips and about 2.5 ms of CPU in the web
process, more than everything else the submit computes (docs/benchmarks.md). Here the rows
become one statement on PostgreSQL: data-modifying CTEs (`WITH a AS (INSERT …), b AS (INSERT …)
INSERT …`), which PostgreSQL runs atomically as a single statement, so it is sent on an
autocommit connection with no BEGIN or COMMIT; foreign keys are checked at the end of the
statement, so parents and children go in together. SQLite has no data-modifying CTEs: there
the rows go as one executemany per table inside the session's transaction, all of them in
one thread hop on the driver (kit.sqlite). The SQL text of each shape (tables and columns) is
built once; values pass through each column type's own bind processing, as SQLAlchemy would
apply it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import JSON, MetaData, Table, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, configure_mappers
from sqlalchemy.orm.instrumentation import ClassManager

from approvals.kit import sqlite
from approvals.kit.canonical import canonical_json

Rows = tuple[Table, Sequence[Mapping[str, Any]]]
_T = TypeVar("_T")
# (table, its columns in this order), for each table written
_Shape = tuple[tuple[Table, tuple[str, ...]], ...]


async def insert_added(session: AsyncSession, *extra: Rows, standalone: bool = True) -> None:
    """Insert every object added to `session` so far, and the `extra` rows, together.

    `standalone` (a submit): these rows are the whole transaction, so this must be its first
    statement; on PostgreSQL it is sent on an autocommit connection (no BEGIN, no COMMIT).
    Otherwise (a job about to commit) they join the transaction in progress as its last
    statement, still one statement (one per table on SQLite), where the ORM's flush at commit
    spent 0.3-0.5 CPU ms more on its unit of work for the release job's few rows
    (docs/benchmarks.md). Either way only the session's commit (or rollback) may follow: on
    SQLite the COMMIT goes in the rows' own hop (`kit.sqlite.insert_all`), and a statement
    after it is refused. The objects leave the session (nothing is flushed again at commit)
    and stay readable; change them no more. A constraint violation raises IntegrityError as a
    flush would.
    """
    groups = _rows_of_added(session)
    for table, rows in extra:
        if rows:
            groups.setdefault(table, []).extend(dict(row) for row in rows)
    if not groups:
        return
    ordered = _in_dependency_order(groups)
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        connection = await (
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            if standalone
            else session.connection()
        )
        shape = tuple((table, tuple(rows[0])) for table, rows in ordered)
        documents = tuple(
            _as_json(dialect, table, columns, rows)
            for (table, columns), (_, rows) in zip(shape, ordered, strict=True)
        )
        await connection.exec_driver_sql(_one_statement(dialect, shape), documents)
        return
    statements = []
    for table, rows in ordered:
        columns = tuple(rows[0])
        statements.append(
            (
                _insert_sql(dialect, table, columns, 1),
                [tuple(_processed(dialect, table, columns, row)) for row in rows],
            )
        )
    await sqlite.insert_all(await session.connection(), statements, commit=True)


def built(cls: type[_T], **values: Any) -> _T:
    """An instance of the mapped class `cls` holding `values`, made without the ORM's
    per-attribute set events: 2 µs where `cls(**values)` took 55 µs for a request's 40
    columns, a few percent of a submit. For a new row that is then only read: inserted with
    `as_rows`, or added to a session (whose flush or `insert_added` reads the values as they
    are); it records no change history."""
    instance: _T = _manager(cls).new_instance()
    vars(instance).update(values)  # the instance's state dict, where attribute reads look
    return instance


_MANAGERS: dict[type[Any], ClassManager[Any]] = {}


def _manager(cls: type[Any]) -> ClassManager[Any]:
    """The class's instrumentation, once its mappers are configured (constructing an instance
    the usual way would configure them; reading an attribute needs it)."""
    manager = _MANAGERS.get(cls)
    if manager is None:
        configure_mappers()
        manager = _MANAGERS[cls] = inspect(cls).class_manager
    return manager


def as_rows(*instances: object) -> Rows:
    """`insert_added`'s extra rows for instances of one mapped class (made by `built`), with
    Python-side column defaults applied as for added objects."""
    table, plan = _plan(inspect(type(instances[0])))
    return table, [_row(plan, vars(instance)) for instance in instances]


def _rows_of_added(session: AsyncSession) -> dict[Table, list[dict[str, Any]]]:
    """Rows of the pending objects, by table, with Python-side column defaults applied."""
    groups: dict[Table, list[dict[str, Any]]] = {}
    for obj in list(session.new):
        state = inspect(obj)
        table, plan = _plan(state.mapper)
        groups.setdefault(table, []).append(_row(plan, state.dict))
        session.expunge(obj)
    return groups


def _row(plan: tuple[tuple[str, str, Any], ...], values: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column, key, default in plan:
        if key in values:
            row[column] = values[key]
        elif default is not None:
            row[column] = default.arg if default.is_scalar else default.arg(None)
    return row


@lru_cache(maxsize=256)
def _plan(mapper: Mapper[Any]) -> tuple[Table, tuple[tuple[str, str, Any], ...]]:
    """A mapped class's table and, per column, (column key, attribute key, Python default):
    looked up once per class, not once per object and column (4 % of a submit's CPU)."""
    table = mapper.local_table
    if not isinstance(table, Table):
        raise TypeError(f"{mapper.class_.__name__} is not mapped to one table")
    plan = []
    for column in table.columns:
        default = column.default
        usable = default is not None and (default.is_scalar or default.is_callable)
        key = mapper.get_property_by_column(column).key
        plan.append((column.key, key, default if usable else None))
    return table, tuple(plan)


def _in_dependency_order(groups: dict[Table, list[dict[str, Any]]]) -> list[Rows]:
    """Parents before children; rows of one table that set different columns are refused
    (a multi-row VALUES needs one column list)."""
    metadata_order = _table_order(next(iter(groups)).metadata)
    ordered: list[Rows] = []
    for table in sorted(groups, key=lambda t: metadata_order.get(t, len(metadata_order))):
        rows = groups[table]
        if any(row.keys() != rows[0].keys() for row in rows):
            raise ValueError(f"rows for {table.name} set different columns")
        ordered.append((table, rows))
    return ordered


_ORDERS: dict[int, tuple[int, dict[Table, int]]] = {}


def _table_order(metadata: MetaData) -> dict[Table, int]:
    """`sorted_tables` (a topological sort, recomputed on every access), once per schema."""
    known = _ORDERS.get(id(metadata))
    if known is None or known[0] != len(metadata.tables):
        known = (len(metadata.tables), {t: n for n, t in enumerate(metadata.sorted_tables)})
        _ORDERS[id(metadata)] = known
    return known[1]


def _processed(
    dialect: Dialect, table: Table, columns: tuple[str, ...], row: Mapping[str, Any]
) -> list[Any]:
    processors = _processors(dialect, table, columns)
    return [
        value if processor is None else processor(value)
        for processor, value in zip(processors, (row[c] for c in columns), strict=True)
    ]


@lru_cache(maxsize=256)
def _processors(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[Callable[[Any], Any] | None, ...]:
    """Each column type's bind processing for this dialect (JSON, UTC datetimes, …)."""
    return tuple(
        table.columns[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    )


@lru_cache(maxsize=256)
def _insert_sql(dialect: Dialect, table: Table, columns: tuple[str, ...], count: int) -> str:
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join(mark for _ in columns) + ")"
    # Only the schema's own table and column names (quoted) go into the text; values are
    # always parameters.
    target = dialect.identifier_preparer.format_table(table)
    names = ", ".join(quote(c) for c in columns)
    rows = ", ".join(one for _ in range(count))
    return f"INSERT INTO {target} ({names}) VALUES {rows}"  # noqa: S608


@lru_cache(maxsize=256)
def _one_statement(dialect: Dialect, shape: _Shape) -> str:
    """`WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …`: the last table's INSERT is the
    main statement, every other one a data-modifying CTE. Each table's rows are one JSON
    array parameter that PostgreSQL expands into rows of the table's own type
    (`jsonb_populate_recordset`), so the text depends on the tables and columns only, not on
    how many rows each has: psycopg parses it once and PostgreSQL prepares it after a few
    runs, where a VALUES list per row made a new text, and a parse of it, for every count."""
    quote = dialect.identifier_preparer.quote
    inserts = []
    for table, columns in shape:
        target = dialect.identifier_preparer.format_table(table)
        names = ", ".join(quote(c) for c in columns)
        # Only the schema's own table and column names (quoted) go into the text; values are
        # always parameters.
        inserts.append(
            f"INSERT INTO {target} ({names}) SELECT {names} "  # noqa: S608
            f"FROM jsonb_populate_recordset(NULL::{target}, %s::jsonb)"
        )
    if len(inserts) == 1:
        return inserts[0]
    ctes = ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(inserts[:-1]))
    return f"WITH {ctes} {inserts[-1]}"


def _as_json(
    dialect: Dialect, table: Table, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]]
) -> str:
    """The rows as one JSON array of objects: JSON columns as they are (nested, not a string
    of JSON), every other value after its column type's bind processing (UTC datetimes)."""
    processors = _json_processors(dialect, table, columns)
    documents = [
        {
            column: value if processor is None or value is None else processor(value)
            for column, processor, value in zip(
                columns, processors, (row[c] for c in columns), strict=True
            )
        }
        for row in rows
    ]
    return canonical_json(documents).decode()


@lru_cache(maxsize=256)
def _json_processors(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(
        None if isinstance(table.columns[name].type, JSON) else processor
        for name, processor in zip(columns, _processors(dialect, table, columns), strict=True)
    )
