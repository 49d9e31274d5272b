"""Alembic environment: async engine, batch mode on SQLite so both backends migrate."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

# Every domain's models, listed explicitly (a unit test checks the list is complete).
from approvals.actions import models as _actions_models  # noqa: F401
from approvals.audit import models as _audit_models  # noqa: F401
from approvals.channels.conversations import models as _conversations_models  # noqa: F401
from approvals.clients import models as _clients_models  # noqa: F401
from approvals.identity import models as _identity_models  # noqa: F401
from approvals.kit.db import Base, create_engine
from approvals.outbox import models as _outbox_models  # noqa: F401
from approvals.release import models as _release_models  # noqa: F401

target_metadata = Base.metadata

# Every web and worker pod migrates in an init container (deploy/k8s/): on PostgreSQL they take
# turns on this transaction-scoped advisory lock, so one upgrades and the others then find the
# schema at head. Any fixed 64-bit number works; this one is "approvals" in ASCII, truncated.
MIGRATION_LOCK = 0x617070726F76616C


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: run `approvals migrate` (it reads the settings)")
    engine = create_engine(url, pool=False)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
