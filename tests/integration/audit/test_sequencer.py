"""The sequencer: it seals what requests append, within its interval, and survives being killed.

The kill is real: `approvals audit verify` (which seals first) runs as a process, is caught in
the middle of a batch's UPDATE and gets SIGKILL; another sequencer takes over.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from approvals import metrics
from approvals.audit import sequencer
from approvals.audit import service as audit_service
from approvals.audit.models import AuditEvent
from approvals.audit.service import NewEvent
from approvals.kit.db import transaction
from approvals.runtime import Runtime
from tests.builders import ApiClient
from tests.integration.jobs.worker_processes import approvals_env


async def _status(runtime: Runtime) -> audit_service.ChainStatus:
    async with runtime.db() as session:
        return await audit_service.verify(session)


class TestSealing:
    async def test_a_submit_is_sealed_within_the_interval_and_logged(
        self, api: ApiClient, runtime: Runtime, capsys: pytest.CaptureFixture[str]
    ) -> None:
        created = await api.create()
        assert (await _status(runtime)).pending_events >= 2  # submitted, policy_evaluated
        before = metrics.audit_events_sealed._value.get()
        loop = asyncio.create_task(sequencer.run_forever(runtime.db, 0.05))
        try:
            deadline = time.monotonic() + 30
            while (status := await _status(runtime)).pending_events:
                assert time.monotonic() < deadline, "the sequencer never sealed"
                await asyncio.sleep(0.02)
        finally:
            loop.cancel()
        assert status.intact and status.head_seq >= 2
        async with runtime.db() as session:
            events = await audit_service.events_for(session, created["id"])
        assert all(event.seq is not None and event.hash for event in events)
        sealed = metrics.audit_events_sealed._value.get() - before
        assert sealed == status.head_seq, (sealed, status)
        logs = "".join(capsys.readouterr())  # stdout, or stderr once the CLI configured logging
        assert "audit.sealed" in logs, logs

    async def test_events_are_sealed_in_commit_order_across_transactions(
        self, runtime: Runtime
    ) -> None:
        """A transaction that took its id first but commits last is sealed after the others:
        nothing is skipped, and the chain stays gap-free."""
        slow_started = asyncio.Event()
        finish_slow = asyncio.Event()

        async def slow() -> None:
            async with transaction(runtime.db) as session:
                await audit_service.append(session, [NewEvent("key_created", "slow")])
                await session.flush()  # the id is taken now; the commit waits
                slow_started.set()
                await finish_slow.wait()

        task = asyncio.create_task(slow())
        await slow_started.wait()
        if runtime.engine.dialect.name == "postgresql":  # SQLite: one writer, so no overtaking
            async with transaction(runtime.db) as session:
                await audit_service.append(session, [NewEvent("key_created", "fast")])
            assert await sequencer.seal_all(runtime.db) == 1
        finish_slow.set()
        await task
        await sequencer.seal_all(runtime.db)
        async with runtime.db() as session:
            rows = (await session.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars()
            order = [(row.seq, row.actor) for row in rows]
        status = await _status(runtime)
        assert status.intact and status.pending_events == 0
        if runtime.engine.dialect.name == "postgresql":
            assert order == [(1, "fast"), (2, "slow")]
        else:
            assert order == [(1, "slow")]


@pytest.mark.postgres
async def test_a_sequencer_killed_mid_batch_is_taken_over_and_the_chain_is_whole(
    postgres_url: str, tmp_path: Path
) -> None:
    from tests.conftest import _empty, make_settings

    runtime = Runtime(make_settings(postgres_url, tmp_path))
    await _empty(runtime)
    total = 3 * sequencer.BATCH
    # Each sealed row costs 2 ms in the database: a batch takes about a second, long enough
    # to be caught in the middle. A trigger of the test's own; our code is untouched.
    async with runtime.engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION slow_seal() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_sleep(0.002); RETURN NEW; END $$"
            )
        )
        await connection.execute(
            text(
                "CREATE TRIGGER slow_seal BEFORE UPDATE ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION slow_seal()"
            )
        )
    process: subprocess.Popen[bytes] | None = None
    try:
        async with transaction(runtime.db) as session:
            await audit_service.append(
                session,
                [NewEvent("vote", f"r{n}@example.org", None, {"n": n}) for n in range(total)],
            )
        env = approvals_env(
            {
                "APPROVALS_DATABASE_URL": postgres_url,
                "APPROVALS_DATA_DIR": str(tmp_path / "data"),
            }
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "approvals", "audit", "verify"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Wait for its first batch to commit and its second to be in the middle of sealing.
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "the sequencer process never got going"
            assert process.poll() is None, "the sequencer process ended before it was killed"
            async with runtime.engine.connect() as connection:
                head = (await connection.execute(text("SELECT last_seq FROM audit_head"))).scalar()
                sealing = (
                    await connection.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND state = 'active' "
                            "AND query LIKE 'UPDATE audit_events%'"
                        )
                    )
                ).scalar()
            if head == sequencer.BATCH and sealing:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # well inside the batch
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        # Another sequencer takes over once PostgreSQL has ended the dead one's transaction.
        deadline = time.monotonic() + 60
        while (status := await _status(runtime)).pending_events:
            assert time.monotonic() < deadline, "nobody took over"
            await sequencer.seal_all(runtime.db)
            await asyncio.sleep(0.05)
        assert status.intact, status.broken
        assert (status.head_seq, status.events_checked) == (total, total)
        async with runtime.db() as session:
            seqs = list(
                (await session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq))).scalars()
            )
        assert seqs == list(range(1, total + 1))
    finally:
        if process is not None and process.poll() is None:
            process.kill()
        async with runtime.engine.begin() as connection:
            await connection.execute(text("DROP TRIGGER IF EXISTS slow_seal ON audit_events"))
        await runtime.close()
