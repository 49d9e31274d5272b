"""A submit's own transaction stays within its statement budget (docs/architecture.md).

Statements are grouped by the transaction they ran in; BEGIN and COMMIT are not counted. On
PostgreSQL they are counted by SQLAlchemy's `before_cursor_execute` on the service's engine.
On SQLite the bulk inserts go to the driver directly (kit.sqlite, one thread hop each), past
SQLAlchemy's cursor events, so what SQLite itself ran is counted (its trace callback), an
executemany's rows as one statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from approvals.actions.models import RequesterNotice
from approvals.jobs.queue import InProcessQueue
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle

# PostgreSQL: every row of the submit in one statement (data-modifying CTEs, autocommit: no
# BEGIN, no COMMIT). SQLite: the request row, its requester-notice rows (or release token),
# its audit events (one executemany), its outbox rows (one executemany). Nothing is read: no
# head lock, no lookup.
SUBMIT_STATEMENT_BUDGET = {"postgresql": 1, "sqlite": 4}
# Follow-up transactions after a submit on the web-only default. Pending: none (no card to
# post, no platform to send the requester's notice: both settled in the submit itself).
# Auto-approved: the release job, in one transaction (load its row, finish the release with
# its notice and audit event, mark the row done). No relay claim in either: the submitting
# process hands its rows over.
FOLLOW_UP_TRANSACTION_BUDGET = {"prod": 0, "dev": 1}
# That release job's transaction: its outbox row, the request with its stored token (one
# read), the status, the new rows (the released event and the notice: one statement on
# PostgreSQL, one per table in a single driver call on SQLite), the outbox row marked done.
RELEASE_JOB_STATEMENT_BUDGET = {"postgresql": 5, "sqlite": 6}


class Transactions:
    """Every statement the engine runs, grouped by the transaction it ran in."""

    def __init__(self) -> None:
        self._open: dict[int, list[str]] = {}
        self.done: list[list[str]] = []

    def begin(self, connection: Any) -> None:
        self._open[id(connection)] = []

    def statement(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if id(connection) in self._open:
            self._open[id(connection)].append(" ".join(statement.split()))

    def commit(self, connection: Any) -> None:
        self.done.append(self._open.pop(id(connection), []))

    rollback = commit  # a read-only unit of work ends in a rollback: still a round of its own

    def traced(self, sql: str) -> None:
        """SQLite's trace callback (on the connection's thread): one call per executed
        statement, values expanded, so an executemany's rows come one after another."""
        text = " ".join(sql.split())
        if text.startswith("BEGIN"):
            self._open[0] = []
        elif text in ("COMMIT", "ROLLBACK"):
            self.done.append(self._open.pop(0, []))
        elif 0 in self._open:
            statements = self._open[0]
            head = text.partition(" VALUES ")[0]
            if not (statements and statements[-1].partition(" VALUES ")[0] == head):
                statements.append(text)

    def containing(self, part: str) -> list[str]:
        (found,) = [t for t in self.done if any(part in s for s in t)]
        return found


@asynccontextmanager
async def transactions(runtime: Runtime) -> AsyncIterator[Transactions]:
    seen = Transactions()
    if runtime.engine.dialect.name == "sqlite":
        async with runtime.engine.connect() as connection:  # the process's one connection
            driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.set_trace_callback(seen.traced)
        try:
            yield seen
        finally:
            await driver.set_trace_callback(None)
        return
    engine = runtime.engine.sync_engine
    listeners = [("begin", seen.begin), ("before_cursor_execute", seen.statement)]
    listeners += [("commit", seen.commit), ("rollback", seen.rollback)]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


@pytest.mark.parametrize("environment", ["prod", "dev"], ids=["pending", "auto_approved"])
async def test_a_submit_commits_within_its_statement_budget(
    api: ApiClient, runtime: Runtime, environment: str
) -> None:
    await api.create()  # warm: first-use queries (policy, caches) are not the budget's
    async with transactions(runtime) as seen:
        created = await api.create(environment=environment)
    assert created["status"] == ("pending" if environment == "prod" else "auto_approved")
    submit = seen.containing("INSERT INTO action_requests")
    assert len(submit) <= SUBMIT_STATEMENT_BUDGET[runtime.engine.dialect.name], submit
    assert not [s for s in submit if s.startswith("SELECT")], submit  # no lock, no read
    tables = {"action_requests", "audit_events"}
    tables |= {"requester_notices"} if environment == "prod" else {"release_tokens", "outbox"}
    written = " ".join(submit)
    assert all(f"INSERT INTO {table} " in written for table in tables), submit


@pytest.mark.parametrize("environment", ["prod", "dev"], ids=["pending", "auto_approved"])
async def test_a_submits_follow_up_jobs_stay_within_their_transaction_budget(
    api: ApiClient, runtime: Runtime, environment: str
) -> None:
    assert isinstance(runtime.queue, InProcessQueue)
    await api.create(environment=environment)
    await runtime.queue.drain()
    async with transactions(runtime) as seen:
        created = await api.create(environment=environment)
        for _ in range(4):
            await runtime.queue.drain()
    # The follow-up work's own: every unit that touches the outbox or a notice, except the
    # submit's transaction that wrote them (the auth lookup and pg_notify touch neither).
    jobs = [
        t
        for t in seen.done
        if any("outbox" in st or "requester_notices" in st for st in t)
        and not any("INSERT INTO action_requests" in st for st in t)
    ]
    assert len(jobs) <= FOLLOW_UP_TRANSACTION_BUDGET[environment], jobs
    async with runtime.db() as session:
        states = set((await session.execute(select(RequesterNotice.state))).scalars())
    assert states == {"skipped"}  # the work itself was done
    if environment == "dev":  # and the release finished
        assert (await api.get("etl", created["id"])).json()["status"] == "released"


async def test_the_release_job_reads_and_writes_within_its_statement_budget(
    api: ApiClient, runtime: Runtime
) -> None:
    assert isinstance(runtime.queue, InProcessQueue)
    await api.create(environment="dev")
    await runtime.queue.drain()
    async with transactions(runtime) as seen:
        created = await api.create(environment="dev")
        await runtime.queue.drain()
    release = seen.containing("INSERT INTO requester_notices")
    assert len(release) <= RELEASE_JOB_STATEMENT_BUDGET[runtime.engine.dialect.name], release
    assert len([s for s in release if s.startswith("SELECT")]) == 2, release
    assert any("INSERT INTO audit_events" in s for s in release), release
    await settle(runtime)  # sealed: the trail lists it
    trail = await api.http.get(
        "/v1/audit/events", params={"request_id": created["id"]}, headers=api.auth("auditor")
    )
    assert [e["event_type"] for e in trail.json()["items"]][-2:] == ["auto_approved", "released"]
