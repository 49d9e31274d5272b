"""SQLite's one write lock, shared by a process's requests: taken in arrival order.

Every SQLite transaction takes the write lock up front. Waiters left to SQLite's busy handler
retry after growing sleeps in no order, so under a steady load one request could starve until
its lock timeout (503) while later ones went through; the p99 at 16 connections was 2 s
(docs/benchmarks.md). Within a process they now queue for the engine's one connection.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from approvals.kit.db import DatabaseLimits, create_engine, transaction

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
