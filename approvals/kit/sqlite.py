"""The embedded SQLite database: one writer at a time, in as few thread hops as possible.

aiosqlite runs each call on the connection's own thread and hands the result back to the
event loop: a hop. SQLAlchemy's adapter makes three hops per statement (new cursor, execute,
close) and one more when a connection goes back to the pool (a rollback, even after a
commit). A submit took 14. Each hop inside a transaction waits its turn on the event loop,
behind the other requests' work, while the transaction holds SQLite's only write lock, so at
16 connections the hops, not the SQL, set how many transactions per second the database
carries. Here BEGIN, a submit's bulk INSERTs together and each other statement
(`OneHopCursor`: execute, fetch and close together) are one hop each, and a connection is
rolled back on return only if a transaction is still open: a submit takes 3 (BEGIN, its
INSERTs, COMMIT; docs/benchmarks.md).
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
from sqlalchemy.util import await_

_BEGIN_UNSURE = "approvals.sqlite.begin_interrupted"


def serialise_writers(engine: AsyncEngine, busy_ms: int) -> None:
    """Every transaction starts with BEGIN IMMEDIATE, in one hop.

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
        pooled = connection.connection
        driver: Any = pooled.driver_connection
        try:
            await_(driver.execute("BEGIN IMMEDIATE"))
        except sqlite3.Error as error:
            raise _wrapped("BEGIN IMMEDIATE", error) from error
        except BaseException:
            # Interrupted while waiting (the task was cancelled): the BEGIN may still run on
            # the driver's thread after this, so whether a transaction is open cannot be read
            # yet. The reset rolls back in any case, queued behind it.
            pooled.info[_BEGIN_UNSURE] = True
            raise

    @event.listens_for(engine.sync_engine, "reset")
    def _reset(dbapi_connection: Any, record: Any, state: PoolResetState) -> None:
        # A session that committed or rolled back left no transaction: nothing to undo, and
        # no hop. One that did not (an error between statements) is rolled back here, and so
        # is one whose BEGIN was interrupted: without it the connection went back to the pool
        # holding the write lock, and the next transaction failed ("cannot start a
        # transaction within a transaction") while every other process waited on the lock.
        unsure = record.info.pop(_BEGIN_UNSURE, False)
        if state.terminate_only:
            return
        if unsure or dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()


async def insert_all(
    connection: AsyncConnection, statements: Sequence[tuple[str, Sequence[Sequence[Any]]]]
) -> None:
    """INSERTs of many rows each (a submit's tables), in order, in one hop: each statement's
    rows are one executemany on the driver's thread, inside the connection's transaction.
    Errors are SQLAlchemy's, as `exec_driver_sql` would raise them (IntegrityError for a
    duplicate key), naming the failing statement, without the values."""
    driver: Any = (await connection.get_raw_connection()).driver_connection
    try:
        await driver._execute(_run_all, driver._conn, statements)
    except _Failed as failed:
        raise _wrapped(failed.sql, failed.error) from failed.error


class _Failed(Exception):
    def __init__(self, sql: str, error: sqlite3.Error) -> None:
        super().__init__(sql)
        self.sql, self.error = sql, error


def _run_all(
    connection: sqlite3.Connection, statements: Sequence[tuple[str, Sequence[Sequence[Any]]]]
) -> None:
    for sql, rows in statements:
        try:
            _run_many(connection, sql, rows)
        except sqlite3.Error as error:
            raise _Failed(sql, error) from error


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
        driver: Any = self._connection
        async with self._adapt_connection._execute_mutex:
            ran: _Ran = await driver._execute(run, driver._conn, operation, arguments)
        self._cursor = cast(Any, ran)  # it has every attribute SQLAlchemy reads after execute
        return ran

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        ran = await self._one_hop(_run_one, operation, parameters)
        if ran.description:
            self._rows = collections.deque(ran.rows)
        return ran

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._one_hop(_run_many, operation, seq_of_parameters)


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDriver(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI adapter whose connections make `OneHopCursor`s: passed to
    `create_async_engine(module=...)`."""

    def connect(self, *arg: Any, **kw: Any) -> _OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return _OneHopConnection(self, adapted._connection)


def one_hop_driver() -> OneHopDriver:
    import aiosqlite

    return OneHopDriver(aiosqlite, sqlite3)
