"""SQLite's one write lock, shared by a process's requests: taken in arrival order, and the
driver calls that skip SQLAlchemy's cursor (kit.sqlite) still behave as SQLAlchemy's would.

Every SQLite transaction takes the write lock up front. Waiters left to SQLite's busy handler
retry after growing sleeps in no order, so under a steady load one request could starve until
its lock timeout (503) while later ones went through; the p99 at 16 connections was 2 s
(docs/benchmarks.md). Within a process they now queue for the engine's one connection.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.kit.db import DatabaseLimits, create_engine, transaction
from approvals.kit.sqlite import insert_all

HOLD_SECONDS = 0.03  # each writer keeps the lock this long: long enough to interleave retries


async def test_writers_get_the_lock_in_the_order_they_asked_for_it(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url, limits=DatabaseLimits(pool_timeout_seconds=5.0))
    db = async_sessionmaker(engine, expire_on_commit=False)
    served: list[int] = []
    first_holds = asyncio.Event()

    async def writer(number: int) -> None:
        async with transaction(db) as session:
            await session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the lock is ours
            served.append(number)
            if number == 0:
                first_holds.set()
                await asyncio.sleep(0.3)
            else:
                await asyncio.sleep(HOLD_SECONDS)

    try:
        tasks = [asyncio.create_task(writer(0))]
        await first_holds.wait()
        for number in range(1, 9):
            tasks.append(asyncio.create_task(writer(number)))
            await asyncio.sleep(0.02)  # each asks after the one before
        async with asyncio.timeout(10):
            await asyncio.gather(*tasks)
    finally:
        await engine.dispose()
    assert served == list(range(9))


async def test_a_duplicate_row_is_sqlalchemys_integrity_error_and_does_not_quote_it(
    sqlite_url: str,
) -> None:
    engine = create_engine(sqlite_url)
    db = async_sessionmaker(engine, expire_on_commit=False)
    row = ("01-duplicate", "Jane Q Doe, MRN 99812345", 1)  # a value that must stay unquoted
    sql = "INSERT INTO kv_probe (id, value, n) VALUES (?, ?, ?)"
    try:
        async with transaction(db) as session:
            await session.execute(text("CREATE TABLE kv_probe (id TEXT PRIMARY KEY, value, n)"))
        with pytest.raises(IntegrityError) as raised:
            async with transaction(db) as session:
                # The second statement fails: the first one's row goes with it.
                await insert_all(await session.connection(), [(sql, [row]), (sql, [row])])
        assert "MRN" not in str(raised.value) and "Doe" not in str(raised.value)
        async with db() as session:  # the failed transaction left nothing behind
            assert (await session.execute(text("SELECT count(*) FROM kv_probe"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(
    sqlite_url: str,
) -> None:
    engine = create_engine(sqlite_url)
    db = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with transaction(db) as session:
            await session.execute(text("CREATE TABLE open_probe (n INTEGER)"))
        async with engine.connect() as connection:
            # A transaction SQLAlchemy does not know of: only the pool's reset can end it.
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute("BEGIN")
            await driver.execute("INSERT INTO open_probe VALUES (1)")
        async with transaction(db) as session:  # BEGIN IMMEDIATE works: nothing was left open
            count = (await session.execute(text("SELECT count(*) FROM open_probe"))).scalar()
        assert count == 0
    finally:
        await engine.dispose()


async def test_a_transaction_cancelled_while_waiting_for_the_lock_leaves_none_behind(
    sqlite_url: str,
) -> None:
    engine = create_engine(
        sqlite_url, limits=DatabaseLimits(lock_timeout_seconds=5.0, pool_timeout_seconds=2.0)
    )
    db = async_sessionmaker(engine, expire_on_commit=False)
    path = sqlite_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)  # another process's writer, say
    try:
        async with transaction(db) as session:
            await session.execute(text("CREATE TABLE cancel_probe (n INTEGER)"))
        other.execute("BEGIN IMMEDIATE")  # holds the write lock
        waiting = asyncio.create_task(_insert(db, 1))
        await asyncio.sleep(0.3)  # its BEGIN IMMEDIATE now waits on the driver's thread
        waiting.cancel()  # a shutdown, a timeout
        # The lock is freed while the cancelled task unwinds: the abandoned BEGIN runs then.
        asyncio.get_running_loop().call_later(0.1, other.rollback)
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.2)
        async with asyncio.timeout(5):
            await _insert(db, 2)  # this process's next transaction
        other.execute("BEGIN IMMEDIATE")  # and another writer's: no lock was left held
        other.rollback()
        async with db() as session:
            rows = (await session.execute(text("SELECT n FROM cancel_probe"))).scalars().all()
    finally:
        other.close()
        await engine.dispose()
    assert rows == [2]


async def _insert(db: async_sessionmaker[AsyncSession], n: int) -> None:
    async with transaction(db) as session:
        await session.execute(text("INSERT INTO cancel_probe VALUES (:n)"), {"n": n})


async def test_a_submits_rows_are_committed_and_the_lock_freed_in_the_hop_that_wrote_them(
    sqlite_url: str,
) -> None:
    """A submit's INSERTs go with their BEGIN and COMMIT in one call on the driver's thread: the
    write lock is never held while the request waits for the event loop."""
    engine = create_engine(sqlite_url)
    db = async_sessionmaker(engine, expire_on_commit=False)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None, timeout=0)
    sql = "INSERT INTO hop_probe (n) VALUES (?)"
    try:
        async with transaction(db) as session:
            await session.execute(text("CREATE TABLE hop_probe (n INTEGER PRIMARY KEY)"))
        async with transaction(db) as session:
            connection = await session.connection()
            other.execute("BEGIN IMMEDIATE")  # no statement yet: the lock is not taken
            other.rollback()
            await insert_all(connection, [(sql, [(1,), (2,)])], commit=True)
            # Before the session's own commit: the rows are another reader's already, and
            # another writer gets the lock at once (timeout 0).
            assert other.execute("SELECT count(*) FROM hop_probe").fetchone() == (2,)
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
        with pytest.raises(IntegrityError):
            async with transaction(db) as session:
                await insert_all(
                    await session.connection(), [(sql, [(3,)]), (sql, [(1,)])], commit=True
                )
        assert other.execute("SELECT n FROM hop_probe ORDER BY n").fetchall() == [(1,), (2,)]
        other.execute("BEGIN IMMEDIATE")  # the failed one's rollback freed the lock
        other.rollback()
        async with transaction(db) as session:
            await insert_all(await session.connection(), [(sql, [(4,)])], commit=True)
            with pytest.raises(RuntimeError, match="committed with its last rows"):
                # It would run outside any transaction: refused, not silently autocommitted.
                await session.execute(text("INSERT INTO hop_probe (n) VALUES (5)"))
        assert other.execute("SELECT max(n) FROM hop_probe").fetchone() == (4,)
    finally:
        other.close()
        await engine.dispose()
