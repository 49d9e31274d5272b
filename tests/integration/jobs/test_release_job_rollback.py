"""The release job writes in one transaction with its outbox row's load and its `done` mark.
When that transaction fails half-way (here: the database refuses the requester-notice row
the release writes after moving the status), nothing of the release is left and the row is
not done but recorded as failed; the next run releases the request exactly once and
delivers the callback it owes.

Real PostgreSQL and SQLite; the fault is a trigger in the database, not a change to our
code. The process's hand-over fails (nothing listens at its Redis URL), so the job runs
when the test calls the runner, as the relay's next offer would.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import select, text

from approvals.actions.models import RequesterNotice
from approvals.audit import sequencer
from approvals.audit import service as audit_service
from approvals.jobs import tasks
from approvals.outbox.models import OutboxMessage
from approvals.runtime import Runtime
from tests.fakes.callback_receiver import CallbackReceiver
from tests.integration.jobs.worker_processes import api_over, free_port, queue_away

_REFUSE = {
    "postgresql": [
        "CREATE FUNCTION refuse_notices() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'notices refused'; END $$",
        "CREATE TRIGGER refuse_notices BEFORE INSERT ON requester_notices "
        "FOR EACH ROW EXECUTE FUNCTION refuse_notices()",
    ],
    "sqlite": [
        "CREATE TRIGGER refuse_notices BEFORE INSERT ON requester_notices "
        "BEGIN SELECT RAISE(ABORT, 'notices refused'); END",
    ],
}
_ALLOW = {
    "postgresql": [
        "DROP TRIGGER refuse_notices ON requester_notices",
        "DROP FUNCTION refuse_notices()",
    ],
    "sqlite": ["DROP TRIGGER refuse_notices"],
}


@contextlib.asynccontextmanager
async def _notices_refused(runtime: Runtime) -> AsyncIterator[None]:
    dialect = runtime.engine.dialect.name
    async with runtime.engine.begin() as connection:
        for statement in _REFUSE[dialect]:
            await connection.execute(text(statement))
    try:
        yield
    finally:
        async with runtime.engine.begin() as connection:
            for statement in _ALLOW[dialect]:
                await connection.execute(text(statement))


async def _release_row(runtime: Runtime, action_id: str) -> OutboxMessage:
    async with runtime.db() as session:
        query = select(OutboxMessage).where(
            OutboxMessage.kind == "release", OutboxMessage.target_id == action_id
        )
        return (await session.execute(query)).scalar_one()


async def _released_events_and_notices(runtime: Runtime, action_id: str) -> tuple[int, int]:
    await sequencer.seal_all(runtime.db)
    async with runtime.db() as session:
        kinds = [e.event_type for e in await audit_service.events_for(session, action_id)]
        notices = (
            await session.execute(
                select(RequesterNotice).where(RequesterNotice.action_id == action_id)
            )
        ).all()
    return kinds.count("released"), len(notices)


async def test_a_release_whose_transaction_fails_leaves_nothing_and_the_retry_releases_once(
    database_url: str, tmp_path: Path
) -> None:
    with CallbackReceiver() as receiver:
        async with (
            queue_away(database_url, tmp_path, f"redis://127.0.0.1:{free_port()}/0") as runtime,
            api_over(runtime, receiver) as (api, _),
        ):
            created = await api.create(environment="dev", callback_url=receiver.url)
            action_id = created["id"]
            job = await _release_row(runtime, action_id)

            async with _notices_refused(runtime):
                await tasks.run(runtime, job.id)
            failed = await _release_row(runtime, action_id)
            after_failure = (await api.get("etl", action_id)).json()["status"]
            written_by_failure = await _released_events_and_notices(runtime, action_id)
            delivered_by_failure = len(receiver.deliveries)

            await tasks.run(runtime, job.id)  # the relay's next offer (delivers the callback too)
            done = await _release_row(runtime, action_id)
            final = (await api.get("etl", action_id)).json()["status"]
            written = await _released_events_and_notices(runtime, action_id)
            await tasks.run(runtime, job.id)  # a duplicate offer: nothing to do
            written_after_duplicate = await _released_events_and_notices(runtime, action_id)
        deliveries = list(receiver.deliveries)

    assert after_failure == "auto_approved"
    assert written_by_failure == (0, 0)  # no released event, no notice: rolled back whole
    assert delivered_by_failure == 0
    assert failed.done_at is None and failed.last_error  # recorded, to be offered again
    assert final == "released"
    assert done.done_at is not None
    assert written == written_after_duplicate == (1, 1)
    assert [d.json["release_token"] for d in deliveries] == [created["release_token"]]
