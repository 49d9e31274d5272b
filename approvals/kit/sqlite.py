"""The embedded SQLite database: one writer at a time, in as few thread hops as possible.

aiosqlite runs each call on the connection's own thread and hands the result back to the
event loop: a hop. SQLAlchemy's adapter makes three hops per statement (new cursor, execute,
close) and one more when a connection goes back to the pool (a rollback, even after a
commit). A submit took 14. Each hop inside a transaction waits its turn on the event loop,
behind the other requests' work, while the transaction holds SQLite's only write lock, so at
16 connections the hops, not the SQL, set how many transactions per second the database
carries. Here each statement is one hop (`OneHopCursor`: execute, fetch and close together),
BEGIN goes in the hop of the transaction's first statement, a submit's bulk INSERTs go
together with its BEGIN and COMMIT (`insert_all(..., commit=True)`), and COMMIT, ROLLBACK or
the pool's reset cost a hop only if a transaction is open on the driver: a submit takes 1 hop,
and holds the write lock for no turn of the event loop (docs/benchmarks.md).
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import event, exc
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolResetState


def serialise_writers(engine: AsyncEngine, busy_ms: int) -> None:
    """Every transaction starts with BEGIN IMMEDIATE, sent with its first statement.

    A deferred transaction that read a WAL snapshot and then writes after another writer
    committed fails with SQLITE_BUSY at once instead of waiting; taking the write lock up
    front makes concurrent decisions queue rather than fail: within a process on the pool's
    one connection (kit.db.create_engine), across processes on busy_timeout. The engine must
    be created with `pool_reset_on_return=None`: `_reset` below does the reset.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        adapted: _OneHopConnection = connection.connection.dbapi_connection  # type: ignore[assignment]
        adapted.begin_owed = True  # sent in the first statement's hop: no hop of its own

    @event.listens_for(engine.sync_engine, "reset")
    def _reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        # A session that committed or rolled back left no transaction: nothing to undo, and
        # no hop. One that did not (an error between statements) is rolled back here, and so
        # is one whose first hop (with its BEGIN) was interrupted: without it the connection
        # went back to the pool holding the write lock, and the next transaction failed
        # ("cannot start a transaction within a transaction") while every other process
        # waited on the lock.
        if state.terminate_only:
            dbapi_connection.forget()
            return
        dbapi_connection.rollback()


async def insert_all(
    connection: AsyncConnection,
    statements: Sequence[tuple[str, Sequence[Sequence[Any]]]],
    *,
    commit: bool = False,
) -> None:
    """INSERTs of many rows each (a submit's tables), in order, in one hop: each statement's
    rows are one executemany on the driver's thread, inside the connection's transaction
    (begun in this hop if it is the first), which `commit` also commits in it: the rows are
    the transaction's last statement, the session's commit then has nothing left to send,
    and a statement before that commit is refused. Errors are SQLAlchemy's, as
    `exec_driver_sql` would raise them (IntegrityError for a duplicate key), naming the
    failing statement, without the values; the transaction is then left open for the
    caller's rollback."""
    adapted: _OneHopConnection = (await connection.get_raw_connection()).dbapi_connection  # type: ignore[assignment]
    await adapted.one_hop(_run_all, statements, commit)
    adapted.ended = commit


class _Failed(Exception):
    def __init__(self, sql: str, error: sqlite3.Error) -> None:
        super().__init__(sql)
        self.sql, self.error = sql, error


def _run_all(
    connection: sqlite3.Connection,
    statements: Sequence[tuple[str, Sequence[Sequence[Any]]]],
    commit: bool,
) -> None:
    for sql, rows in statements:
        try:
            _run_many(connection, sql, rows)
        except sqlite3.Error as error:
            raise _Failed(sql, error) from error
    if commit:
        try:
            connection.commit()
        except sqlite3.Error as error:
            raise _Failed("COMMIT", error) from error


def _wrapped(sql: str, error: sqlite3.Error) -> BaseException:
    return exc.DBAPIError.instance(sql, None, error, sqlite3.Error, hide_parameters=True)


class _Ran:
    """What one statement left behind, read on the driver's thread in the statement's own hop:
    SQLAlchemy's cursor adapter reads these attributes after `execute`."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount", "rows")

    def __init__(
        self, description: Any = None, rowcount: int = -1, lastrowid: Any = None, rows: Any = ()
    ) -> None:
        self.description, self.rowcount, self.lastrowid = description, rowcount, lastrowid
        self.rows, self.arraysize = rows, 1

    async def __aenter__(self) -> _Ran:
        return self

    async def close(self) -> None:
        """Nothing to close: the driver's cursor was closed in the hop that used it."""


def _run_one(connection: sqlite3.Connection, sql: str, parameters: Any) -> _Ran:
    cursor = connection.cursor()
    try:
        cursor.execute(sql) if parameters is None else cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else ()
        return _Ran(description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


def _run_many(connection: sqlite3.Connection, sql: str, rows: Any) -> _Ran:
    cursor = connection.cursor()
    try:
        cursor.executemany(sql, rows)
        return _Ran(None, cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor in one hop per statement instead of four (new cursor,
    execute, fetch, close): the statement, its rows and the cursor's close run as one call on
    the driver's thread (aiosqlite's `Connection._execute`, which its own methods use). A
    release job's seven statements took about 60 hops (docs/benchmarks.md)."""

    __slots__ = ()

    def _make_new_cursor(self, connection: Any) -> Any:  # noqa: ARG002 (no hop: no cursor yet)
        return _Ran()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    async def _one_hop(self, run: Callable[..., _Ran], operation: Any, arguments: Any) -> _Ran:
        adapted: _OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        async with adapted._execute_mutex:
            ran: _Ran = await adapted.one_hop(run, operation, arguments)
        self._cursor = cast(Any, ran)  # it has every attribute SQLAlchemy reads after execute
        return ran

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        ran = await self._one_hop(_run_one, operation, parameters)
        if ran.description:
            self._rows = collections.deque(ran.rows)
        return ran

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._one_hop(_run_many, operation, seq_of_parameters)


def _begun(connection: sqlite3.Connection, run: Callable[..., Any], *arguments: Any) -> Any:
    """On the driver's thread: the transaction's BEGIN, then its first statement."""
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        raise _Failed("BEGIN IMMEDIATE", error) from error
    return run(connection, *arguments)


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """Sends a transaction's BEGIN with its first statement, and sends COMMIT or ROLLBACK
    only when the driver has a transaction open (none was begun, or `insert_all` committed)."""

    __slots__ = ("begin_owed", "begin_unsure", "ended")
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.begin_owed = False  # a transaction began whose BEGIN was not sent yet
        self.begin_unsure = False  # the hop with the BEGIN was interrupted: it may yet run
        self.ended = False  # `insert_all` committed: the session's commit or rollback is next

    async def one_hop(self, run: Callable[..., Any], *arguments: Any) -> Any:
        """`run(sqlite3_connection, *arguments)` on the driver's thread, after the BEGIN owed.
        A statement that `run` names as failed (`_Failed`: the BEGIN, or one of `insert_all`'s)
        is raised as SQLAlchemy's error for it, without its values."""
        if self.ended:
            # It would run outside any transaction, not in the one the caller thinks is open.
            raise RuntimeError("the transaction was committed with its last rows: end it first")
        driver: Any = self._connection
        begin, self.begin_owed = self.begin_owed, False
        try:
            if begin:
                return await driver._execute(_begun, driver._conn, run, *arguments)
            return await driver._execute(run, driver._conn, *arguments)
        except _Failed as failed:
            raise _wrapped(failed.sql, failed.error) from failed.error
        except BaseException as stopped:
            if begin and not isinstance(stopped, Exception):
                # Interrupted while waiting (the task was cancelled): the hop may still run
                # on the driver's thread after this, so whether a transaction is open cannot
                # be read yet. The rollback (or the pool's reset) rolls back in any case,
                # queued behind it.
                self.begin_unsure = True
            raise

    def commit(self) -> None:
        self.forget()  # nothing was sent, or `insert_all` committed it all
        if self._connection.in_transaction:
            super().commit()

    def rollback(self) -> None:
        unsure = self.forget()
        if unsure or self._connection.in_transaction:
            super().rollback()

    def forget(self) -> bool:
        """Drop what this connection knew of its transaction; True if a hop with its BEGIN was
        interrupted (a transaction may be open, or about to be, on the driver)."""
        unsure = self.begin_unsure
        self.begin_owed = self.begin_unsure = self.ended = False
        return unsure


class OneHopDriver(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI adapter whose connections make `OneHopCursor`s: passed to
    `create_async_engine(module=...)`."""

    def connect(self, *arg: Any, **kw: Any) -> _OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return _OneHopConnection(self, adapted._connection)


def one_hop_driver() -> OneHopDriver:
    import aiosqlite

    return OneHopDriver(aiosqlite, sqlite3)
