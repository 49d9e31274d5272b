"""SQLite's writers of one process queue first come, first served (kit/sqlite.py).

SQLite's own busy handler lets waiting writers sleep and retry, so which one goes next is
luck; with ten waiters, arrival order comes out by chance one time in 3.6 million.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from approvals.kit.db import create_engine, session_factory, transaction


async def test_waiting_writers_go_in_the_order_they_came(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    db = session_factory(engine)
    try:
        async with transaction(db) as session:
            await session.execute(text("CREATE TABLE log (n INTEGER)"))
        order: list[int] = []

        async def writer(n: int) -> None:
            async with transaction(db) as session:
                order.append(n)
                await session.execute(text("INSERT INTO log (n) VALUES (:n)"), {"n": n})

        async with transaction(db) as holder:  # holds the write lock meanwhile
            await holder.execute(text("INSERT INTO log (n) VALUES (-1)"))
            waiting = []
            for n in range(10):
                waiting.append(asyncio.create_task(writer(n)))
                await asyncio.sleep(0.02)  # each is waiting before the next arrives
        await asyncio.gather(*waiting)
        async with db() as session:
            stored = list((await session.execute(text("SELECT n FROM log"))).scalars())
    finally:
        await engine.dispose()
    assert order == list(range(10))
    assert stored == [-1, *range(10)]


async def test_a_failed_transaction_hands_the_lock_on(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'f.db'}")
    db = session_factory(engine)
    try:
        async with transaction(db) as session:
            await session.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
            await session.execute(text("INSERT INTO t (n) VALUES (1)"))
        for _ in range(3):  # a duplicate key: each attempt rolls back and releases
            with pytest.raises(IntegrityError, match="UNIQUE"):
                async with transaction(db) as session:
                    await session.execute(text("INSERT INTO t (n) VALUES (1)"))
        async with transaction(db) as session:
            await asyncio.wait_for(session.execute(text("INSERT INTO t (n) VALUES (2)")), timeout=5)
    finally:
        await engine.dispose()
