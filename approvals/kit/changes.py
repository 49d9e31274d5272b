"""Cross-process change feed: "request X changed" from the process that committed it to every
process holding a /wait long-poll for X.

Redis pub/sub when Redis is configured; PostgreSQL LISTEN/NOTIFY when the database is
PostgreSQL; nothing extra for the embedded default (one process, in-process events suffice).
Each process holds one listening connection, never one per waiter.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

import psycopg
import structlog
from redis import asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger(__name__)

CHANNEL = "approvals_changed"
Deliver = Callable[[str], None]


class ChangeFeed(Protocol):
    async def publish(self, action_id: str) -> None: ...

    async def start(self, deliver: Deliver) -> None: ...

    async def close(self) -> None: ...


class LocalFeed:
    """Single process: the committing process's own notifier is the only audience."""

    async def publish(self, action_id: str) -> None:
        del action_id

    async def start(self, deliver: Deliver) -> None:
        del deliver

    async def close(self) -> None:
        return None


class _Listening:
    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def _spawn(self, name: str, loop_body: Callable[[], Awaitable[None]]) -> None:
        async def forever() -> None:
            while True:
                try:
                    await loop_body()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # broker away: reconnect; /wait still ends on timeout
                    log.warning("changes.listen_failed", error=type(exc).__name__)
                    await asyncio.sleep(1.0)

        self._task = asyncio.create_task(forever(), name=name)

    async def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class RedisFeed(_Listening):
    def __init__(self, url: str) -> None:
        super().__init__()
        self._redis = aioredis.from_url(url)

    async def publish(self, action_id: str) -> None:
        try:
            await self._redis.publish(CHANNEL, action_id)
        except Exception as exc:  # Redis down: waiters elsewhere fall back to their timeout
            log.warning("changes.publish_failed", error=type(exc).__name__)

    async def start(self, deliver: Deliver) -> None:
        async def listen() -> None:
            pubsub = self._redis.pubsub()
            await pubsub.subscribe(CHANNEL)
            try:
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        deliver(message["data"].decode("ascii", "replace"))
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]

        self._spawn("changes:redis", listen)

    async def close(self) -> None:
        await self._stop()
        await self._redis.aclose()


class PostgresFeed(_Listening):
    """Publishes on a pooled connection; listens on one dedicated autocommit connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        self._engine = engine
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def publish(self, action_id: str) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    text("SELECT pg_notify(:channel, :id)"), {"channel": CHANNEL, "id": action_id}
                )
        except Exception as exc:
            log.warning("changes.publish_failed", error=type(exc).__name__)

    async def start(self, deliver: Deliver) -> None:
        async def listen() -> None:
            async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                async for notice in conn.notifies():
                    deliver(notice.payload)

        self._spawn("changes:postgres", listen)

    async def close(self) -> None:
        await self._stop()


def feed_for(redis_url: str | None, engine: AsyncEngine) -> ChangeFeed:
    if redis_url:
        return RedisFeed(redis_url)
    if engine.dialect.name == "postgresql":
        return PostgresFeed(engine)
    return LocalFeed()
