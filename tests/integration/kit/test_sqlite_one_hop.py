"""The embedded database's cursor makes one call on aiosqlite's thread per statement, and
answers exactly as SQLAlchemy's own aiosqlite cursor does (that cursor is the oracle here)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from approvals.kit.db import create_engine

_SETUP = [
    "CREATE TABLE hop_probe (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, n INTEGER)",
]


async def _observe(engine: AsyncEngine) -> dict[str, Any]:
    """Everything a caller can see of a few statements' results."""
    seen: dict[str, Any] = {}
    async with engine.begin() as connection:
        for sql in _SETUP:
            await connection.execute(text(sql))
        inserted = await connection.execute(
            text("INSERT INTO hop_probe (name, n) VALUES (:name, :n)"), {"name": "a", "n": 1}
        )
        seen["lastrowid"] = inserted.lastrowid
        many = await connection.execute(
            text("INSERT INTO hop_probe (name, n) VALUES (:name, :n)"),
            [{"name": "b", "n": 2}, {"name": "c", "n": 3}],
        )
        seen["executemany rowcount"] = many.rowcount
        updated = await connection.execute(text("UPDATE hop_probe SET n = n + 10 WHERE n > 1"))
        seen["update rowcount"] = updated.rowcount
        rows = await connection.execute(text("SELECT id, name, n FROM hop_probe ORDER BY id"))
        seen["columns"] = list(rows.keys())
        seen["rows"] = [tuple(row) for row in rows]
        one = await connection.execute(text("SELECT name FROM hop_probe WHERE n = 12"))
        seen["first"] = one.scalar_one()
        none = await connection.execute(text("SELECT name FROM hop_probe WHERE n = 99"))
        seen["none"] = none.all()
        returning = await connection.execute(
            text("INSERT INTO hop_probe (name, n) VALUES ('d', 4) RETURNING id, name")
        )
        seen["returning"] = [tuple(row) for row in returning]
        deleted = await connection.execute(text("DELETE FROM hop_probe WHERE name = 'zzz'"))
        seen["delete nothing rowcount"] = deleted.rowcount
    with pytest.raises(IntegrityError) as raised:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO hop_probe (name, n) VALUES ('a', 5)"))
    seen["duplicate"] = str(raised.value.orig)
    async with engine.connect() as connection:
        left = await connection.execute(text("SELECT count(*) FROM hop_probe"))
        seen["count after the failed transaction"] = left.scalar()
    return seen


async def test_answers_are_those_of_sqlalchemys_own_cursor(tmp_path: Path) -> None:
    ours = create_engine(f"sqlite:///{tmp_path / 'ours.db'}")
    stock = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'stock.db'}")
    try:
        mine, theirs = await _observe(ours), await _observe(stock)
    finally:
        await ours.dispose()
        await stock.dispose()
    assert mine == theirs
    assert mine["rows"] == [(1, "a", 1), (2, "b", 12), (3, "c", 13)]  # the oracle ran too


async def test_a_statement_is_one_call_on_the_drivers_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'hops.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text(_SETUP[0]))
            # aiosqlite logs each call it runs on its thread ("executing …") at DEBUG.
            caplog.set_level(logging.DEBUG, logger="aiosqlite")
            caplog.clear()
            await connection.execute(text("SELECT id, name FROM hop_probe"))
            await connection.execute(text("UPDATE hop_probe SET n = 1"))
            calls = [r for r in caplog.records if r.getMessage().startswith("executing")]
    finally:
        await engine.dispose()
    assert len(calls) == 2, [r.getMessage()[:80] for r in calls]  # was 4 and 3
