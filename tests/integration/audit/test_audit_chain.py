"""The hash chain: one chain under concurrency; raw-SQL tampering found at the right event."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from approvals.audit import chain, sequencer
from approvals.audit import service as audit_service
from approvals.audit.models import AuditEvent
from approvals.audit.service import NewEvent
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.runtime import Runtime
from tests.builders import ApiClient
from tests.conftest import _empty, make_settings
from tests.integration.audit.conftest import head_seq, json_out, make_history, sql


async def _verify(api: ApiClient) -> dict:
    response = await api.http.get("/v1/audit/verify", headers=api.auth("auditor"))
    assert response.status_code == 200, response.text
    return response.json()


class TestIntactChain:
    async def test_history_verifies_through_api_and_cli(self, api: ApiClient, cli) -> None:
        await make_history(api)
        status = await _verify(api)
        assert status["intact"] is True
        assert status["broken"] is None
        assert status["events_checked"] == status["head_seq"] >= 10
        result = await cli("audit", "verify", "--json")
        assert result.exit_code == 0, result.output
        assert json_out(result)["intact"] is True

    async def test_verify_needs_the_audit_scope(self, api: ApiClient) -> None:
        response = await api.http.get("/v1/audit/verify", headers=api.auth("bob"))
        assert response.status_code == 403
        assert (await api.http.get("/v1/audit/verify")).status_code == 401


@pytest.mark.postgres
async def test_twenty_concurrent_transactions_make_one_gap_free_chain(
    postgres_url: str, tmp_path: Path
) -> None:
    runtime = Runtime(make_settings(postgres_url, tmp_path))
    await _empty(runtime)
    try:

        async def one(n: int) -> None:
            async with transaction(runtime.db) as session:
                await audit_service.append(
                    session,
                    [
                        NewEvent("vote", f"r{n}@example.org", None, {"n": n, "part": p})
                        for p in (1, 2)
                    ],
                )

        await asyncio.gather(*[one(n) for n in range(20)])
        assert await sequencer.seal_all(runtime.db) == 40
        async with runtime.db() as session:
            status = await audit_service.verify(session)
            seqs = list(
                (await session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq))).scalars()
            )
        assert status.intact, status.broken
        assert seqs == list(range(1, 41))
        assert status.head_seq == 40
    finally:
        await runtime.close()


@pytest.mark.postgres
class TestAppendOnlyOnPostgres:
    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE audit_events SET actor = 'mallory@example.org' WHERE seq = 1",
            "DELETE FROM audit_events WHERE seq = 1",
            "TRUNCATE audit_events",
            # a sealed event is sealed once: no second seq or hash
            "UPDATE audit_events SET seq = 7 WHERE seq = 1",
            "UPDATE audit_events SET hash = prev_hash WHERE seq = 1",
            # an event waiting to be sealed is as fixed as a sealed one...
            "UPDATE audit_events SET actor = 'mallory@example.org' WHERE seq IS NULL",
            "DELETE FROM audit_events WHERE seq IS NULL",
            # ...sealing changes nothing but seq and the hashes...
            "UPDATE audit_events SET seq = 2, prev_hash = 'a', hash = 'b', actor = 'x' "
            "WHERE seq IS NULL",
            # ...and nobody inserts an event already sealed, past the sequencer
            "INSERT INTO audit_events (seq, event_type, occurred_at, actor, payload, prev_hash,"
            " hash) VALUES (9, 'approved', now(), 'mallory', '{}', 'a', 'b')",
        ],
    )
    async def test_changing_history_is_refused(
        self, postgres_url: str, tmp_path: Path, statement: str
    ) -> None:
        runtime = Runtime(make_settings(postgres_url, tmp_path))
        await _empty(runtime)
        try:
            async with transaction(runtime.db) as session:
                await audit_service.append(session, [NewEvent("key_created", "admin")])
            assert await sequencer.seal_all(runtime.db) == 1
            async with transaction(runtime.db) as session:
                await audit_service.append(session, [NewEvent("key_revoked", "admin")])
            with pytest.raises(DBAPIError, match="append-only"):
                async with runtime.engine.begin() as connection:
                    await connection.execute(text(statement))
            assert await sequencer.seal_all(runtime.db) == 1  # the one change allowed
            async with runtime.db() as session:
                status = await audit_service.verify(session)
            assert status.intact
            assert (status.head_seq, status.pending_events) == (2, 0)
        finally:
            await runtime.close()


class TestTampering:
    """Each change is made with SQL, as a database administrator could, then verified."""

    async def test_edited_event_is_reported_at_its_seq(
        self, api: ApiClient, runtime: Runtime, cli
    ) -> None:
        await make_history(api)
        await sql(runtime, "UPDATE audit_events SET actor = 'mallory@example.org' WHERE seq = 5")
        status = await _verify(api)
        assert status["intact"] is False
        assert status["broken"]["seq"] == 5
        assert status["broken"]["kind"] == "edited"
        result = await cli("audit", "verify")
        assert result.exit_code == 1
        assert "BROKEN at event 5 (edited)" in result.output

    async def test_deleted_event_is_reported_at_its_seq(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        await make_history(api)
        await sql(runtime, "DELETE FROM audit_events WHERE seq = 4")
        assert (await _verify(api))["broken"] | {"problem": ""} == {
            "seq": 4,
            "kind": "deleted",
            "problem": "",
        }

    async def test_deleted_last_events_are_reported(self, api: ApiClient, runtime: Runtime) -> None:
        await make_history(api)
        last = await head_seq(runtime)
        await sql(runtime, "DELETE FROM audit_events WHERE seq >= :s", s=last - 1)
        broken = (await _verify(api))["broken"]
        assert (broken["seq"], broken["kind"]) == (last - 1, "deleted")

    async def test_inserted_event_with_renumbering_is_reported_where_it_was_put(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        await make_history(api)
        # Make room at seq 6 (via negatives: a primary key cannot pass through itself)...
        await sql(runtime, "UPDATE audit_events SET seq = -seq WHERE seq >= 6")
        await sql(runtime, "UPDATE audit_events SET seq = 1 - seq WHERE seq < 0")
        # ...and insert a forged event there, correctly linked to event 5.
        async with runtime.db() as session:
            prev = (
                await session.execute(select(AuditEvent.hash).where(AuditEvent.seq == 5))
            ).scalar_one()
        at = utc_now()
        body = chain.event_body(6, "approved", at, "mallory@example.org", None, {})
        async with runtime.engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # a superuser, past the trigger
                await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(
                insert(AuditEvent).values(
                    seq=6,
                    event_type="approved",
                    occurred_at=at,
                    actor="mallory@example.org",
                    action_id=None,
                    payload={},
                    prev_hash=prev,
                    hash=chain.link(prev, body),
                )
            )
        broken = (await _verify(api))["broken"]
        assert (broken["seq"], broken["kind"]) == (6, "inserted")

    async def test_event_appended_behind_the_chain_head_is_reported(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        await make_history(api)
        last = await head_seq(runtime)
        async with runtime.db() as session:
            prev = (
                await session.execute(select(AuditEvent.hash).where(AuditEvent.seq == last))
            ).scalar_one()
        at = utc_now()
        body = chain.event_body(last + 1, "approved", at, "mallory@example.org", None, {})
        async with runtime.engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # a superuser, past the trigger
                await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(
                insert(AuditEvent).values(
                    seq=last + 1,
                    event_type="approved",
                    occurred_at=at,
                    actor="mallory@example.org",
                    action_id=None,
                    payload={},
                    prev_hash=prev,
                    hash=chain.link(prev, body),
                )
            )
        broken = (await _verify(api))["broken"]
        assert (broken["seq"], broken["kind"]) == (last + 1, "inserted")

    async def test_swapped_events_are_reported_as_reordered(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        await make_history(api)
        await sql(runtime, "UPDATE audit_events SET seq = -1 WHERE seq = 7")
        await sql(runtime, "UPDATE audit_events SET seq = 7 WHERE seq = 8")
        await sql(runtime, "UPDATE audit_events SET seq = 8 WHERE seq = -1")
        broken = (await _verify(api))["broken"]
        assert (broken["seq"], broken["kind"]) == (7, "reordered")

    async def test_untouched_events_before_the_change_still_count_as_checked(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        await make_history(api)
        await sql(runtime, "UPDATE audit_events SET event_type = 'approved' WHERE seq = 9")
        status = await _verify(api)
        assert status["events_checked"] == 8
        async with runtime.db() as session:
            total = (
                await session.execute(select(func.count()).select_from(AuditEvent))
            ).scalar_one()
        assert total == status["head_seq"]
