"""SQLite's one writer, queued in process instead of by sleeping.

Every transaction starts with BEGIN IMMEDIATE: a deferred transaction that read a WAL snapshot
and then writes after another writer committed fails with SQLITE_BUSY at once instead of
waiting; taking the write lock up front makes concurrent decisions queue rather than fail.

Queued how: SQLite's busy handler makes a waiting writer sleep and retry (1, 2, 5, 10 … 100 ms
between tries), so under concurrent submits the lock sat idle while waiters slept and an
unlucky one waited seconds (a p99 of 9x the bare endpoint's, docs/benchmarks.md). Within one
process, the connections of an engine therefore also take an asyncio lock before BEGIN
IMMEDIATE and hand it over at once, first come first served, when the connection returns to
the pool. Other processes (a CLI command beside `approvals serve`) still meet at SQLite's own
lock and its busy timeout. A wait longer than the busy timeout is "database is locked", as
SQLite would say it, which the API answers 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_

_HOLDS = "approvals.sqlite.holds_writer"


def serialise_writers(engine: AsyncEngine, busy_ms: int) -> None:
    locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
        weakref.WeakKeyDictionary()
    )

    def writer_lock() -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = locks.get(loop)
        if lock is None:
            lock = locks[loop] = asyncio.Lock()
        return lock

    async def take(lock: asyncio.Lock) -> None:
        try:
            await asyncio.wait_for(lock.acquire(), timeout=busy_ms / 1000)
        except TimeoutError:
            raise exc.OperationalError(
                "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
            ) from None

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        info = connection.info  # the pooled connection's: survives its transactions
        if _HOLDS not in info:
            lock = writer_lock()
            await_(take(lock))
            info[_HOLDS] = lock
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    def hand_over(record: Any) -> None:
        lock = record.info.pop(_HOLDS, None)
        if lock is not None:
            lock.release()

    # Back in the pool, or thrown away (an error invalidated it, the pool closed it): either
    # way its transaction is over and the next writer goes.
    for name in ("checkin", "invalidate", "close"):
        event.listen(engine.sync_engine, name, lambda *args: hand_over(args[1]))
