"""Database plumbing shared by every domain: declarative base, portable column types,
engine factory for PostgreSQL (psycopg 3) and SQLite (aiosqlite), and the transaction helper."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, event, exc
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from approvals.kit import sqlite
from approvals.kit.private_files import private_file
from approvals.kit.secretbox import SecretBox

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on both backends (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use approvals.kit.clock.utc_now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def async_url(url: str) -> str:
    """Accept the URLs operators write (postgresql://, sqlite:///) and pick the async driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class DatabaseLimits:
    """How long a request may wait on the database before it is told to retry (503).

    `pool_*`: connections kept, extra ones under load, the wait for a free one (PostgreSQL;
    a SQLite engine keeps one connection and only the wait applies).
    `lock_timeout_seconds`: the wait for a lock (SQLite busy_timeout, PostgreSQL lock_timeout).
    """

    pool_size: int = 20
    pool_overflow: int = 20
    pool_timeout_seconds: float = 10.0
    lock_timeout_seconds: float = 10.0


def private_sqlite_file(url: str) -> Path | None:
    """Create a SQLite database file (and its directory) owner-only before SQLite does.

    SQLite would create it with the process umask (0644 as a rule) and gives its -wal and
    -shm files the database file's mode, so creating the file 0600 first keeps all three
    owner-only. An existing file we own is tightened. Not SQLite, or in memory: None.
    """
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    private_file(path)
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():
            private_file(companion)
    return path


def create_engine(
    url: str, *, pool: bool = True, echo: bool = False, limits: DatabaseLimits | None = None
) -> AsyncEngine:
    private_sqlite_file(url)
    url = async_url(url)
    limits = limits or DatabaseLimits()
    lock_ms = max(1, round(limits.lock_timeout_seconds * 1000))
    # Bound parameters are request values (PHI): never in an exception's text, so never in
    # a traceback or log line, nor in echo output.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    on_sqlite = url.startswith("sqlite")
    if on_sqlite:
        kwargs["pool_reset_on_return"] = None  # kit.sqlite resets only an open transaction
        kwargs["module"] = sqlite.one_hop_driver()
    else:
        kwargs["connect_args"] = {"options": f"-c lock_timeout={lock_ms}"}
    if not pool:
        kwargs["poolclass"] = NullPool
    elif on_sqlite:
        # One connection: every SQLite transaction takes the single write lock up front
        # (BEGIN IMMEDIATE, kit.sqlite), so a second connection adds no concurrency, only a worse
        # queue. Waiters on SQLite's busy handler sleep in growing steps (up to 100 ms) and
        # retry in no order, so under load the lock sat free between holders and an unlucky
        # request starved until busy_timeout (503). The pool's queue hands the connection to
        # the next waiter at once, first come first served, within pool_timeout. Other
        # processes (CLI, a worker) still queue on busy_timeout.
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=limits.pool_timeout_seconds)
    else:
        kwargs.update(
            pool_size=limits.pool_size,
            max_overflow=limits.pool_overflow,
            pool_timeout=limits.pool_timeout_seconds,
        )
    engine = create_async_engine(url, **kwargs)
    if pool and not on_sqlite:
        _ping_after_idle(engine)
    if engine.dialect.name == "postgresql":
        # An INSERT of several rows (audit events, outbox rows) as one multi-row VALUES
        # statement: psycopg's own executemany runs in pipeline mode and yields to the event
        # loop once per row, which cost more CPU than the rows themselves (docs/benchmarks.md).
        engine.sync_engine.dialect.use_insertmanyvalues_wo_returning = True
    if engine.dialect.name == "sqlite":
        sqlite.serialise_writers(engine, lock_ms)
    return engine


# A pooled connection idle for longer than this is pinged before use (see _ping_after_idle).
PING_AFTER_IDLE_SECONDS = 1.0
_LAST_USED = "approvals.last_used"


def _ping_after_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use only when it sat idle for a while.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip per transaction, a sixth
    of a submit's CPU once its rows went in one statement. A connection checked in less than
    PING_AFTER_IDLE_SECONDS ago was just used successfully; one that waited longer (a database
    restart, an idle-session timeout, a failover) is pinged, and a dead one is replaced before
    the request sees it. A restart inside that second fails at most the requests then in
    flight, each a 503 with Retry-After, and the failure resets the whole pool.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last_used = record.info.get(_LAST_USED)
        if last_used is None or time.monotonic() - last_used < PING_AFTER_IDLE_SECONDS:
            return  # new (just connected) or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if not engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise
            raise exc.DisconnectionError from error  # the pool connects afresh and retries


SECRETS = "secrets"


def session_factory(
    engine: AsyncEngine,
    *,
    secrets: SecretBox | None = None,
    shared: Mapping[str, object] | None = None,
) -> async_sessionmaker[AsyncSession]:
    """`secrets` rides in every session's `info`: the few columns holding secrets (webhook
    signing secrets) are sealed and opened where they are written and read, by any command
    that got a session from the Runtime, without every signature passing the box along.
    `shared`: more per-process objects every session carries the same way (the outbox's
    hand-over list)."""
    info: dict[str, object] = dict(shared or {})
    if secrets is not None:
        info[SECRETS] = secrets
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


def secrets_of(session: AsyncSession) -> SecretBox:
    box = session.info.get(SECRETS)
    if not isinstance(box, SecretBox):
        raise RuntimeError("this session was not made by the Runtime: no secret box to seal with")
    return box


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on normal exit, rolls back on any exception."""
    async with factory() as session, session.begin():
        yield session


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True, slots=True)
class Outage:
    """Why the database could not serve a request right now, in words safe to show anyone."""

    detail: str
    retry_after: int


_LOCKED = ("database is locked", "database table is locked", "database is busy")
# PostgreSQL SQLSTATEs a retry can clear: serialization failure, deadlock, lock timeout,
# statement or idle timeouts, too many connections, shutdown and start-up, connection loss.
_TRANSIENT_SQLSTATES = ("40001", "40P01", "55P03", "57014", "53300", "57P01", "57P02", "57P03")


def outage(error: BaseException) -> Outage | None:
    """A database failure that retrying later can cure (pool exhausted, lock wait timed out,
    connection refused or lost), or None for anything else (a bug, bad data).

    The detail never quotes the driver's message: it can carry SQL and bound values.
    """
    if isinstance(error, exc.TimeoutError):  # QueuePool: no connection free in time
        return Outage("the service is busy (no database connection free in time); retry", 2)
    if not isinstance(error, exc.DBAPIError):
        return None
    sqlstate = getattr(error.orig, "sqlstate", None)
    message = str(error.orig).lower()
    if sqlstate in _TRANSIENT_SQLSTATES[:4] or any(m in message for m in _LOCKED):
        return Outage("the database is busy (a lock wait timed out); retry", 2)
    if (
        error.connection_invalidated
        or isinstance(error, exc.OperationalError | exc.InterfaceError)
        or sqlstate in _TRANSIENT_SQLSTATES
    ):
        return Outage("the database is unavailable right now; retry shortly", 5)
    return None
