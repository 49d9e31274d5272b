"""The embedded SQLite database: one writer at a time, in as few thread hops as possible.

aiosqlite runs each call on the connection's own thread and hands the result back to the
event loop: a hop. SQLAlchemy's adapter makes three hops per statement (new cursor, execute,
close) and one more when a connection goes back to the pool (a rollback, even after a
commit). A submit took 14. Each hop inside a transaction waits its turn on the event loop,
behind the other requests' work, while the transaction holds SQLite's only write lock, so at
16 connections the hops, not the SQL, set how many transactions per second the database
carries. Here BEGIN and each bulk INSERT are one hop, and a connection is rolled back on
return only if a transaction is still open: a submit takes 5 (docs/benchmarks.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, exc
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


async def insert_many(connection: AsyncConnection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One INSERT for many rows, in one hop (aiosqlite's own executemany), inside the
    connection's transaction. Errors are SQLAlchemy's, as `exec_driver_sql` would raise them
    (IntegrityError for a duplicate key), without the values."""
    driver: Any = (await connection.get_raw_connection()).driver_connection
    try:
        await driver.executemany(sql, rows)
    except sqlite3.Error as error:
        raise _wrapped(sql, error) from error


def _wrapped(sql: str, error: sqlite3.Error) -> BaseException:
    return exc.DBAPIError.instance(sql, None, error, sqlite3.Error, hide_parameters=True)
