"""Races are the normal case: many simultaneous decisions and submits, one outcome.

PostgreSQL only (real row locks and separate connections); SQLite serialises writers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from approvals.actions.models import ActionRequest, Vote
from approvals.app import create_app
from approvals.audit import service as audit_service
from approvals.audit.models import AuditEvent
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.outbox.models import OutboxMessage
from approvals.runtime import Runtime
from tests.builders import ApiClient, action_body
from tests.conftest import _empty, make_settings

REVIEWERS = [f"r{i}@example.org" for i in range(20)]
POLICY = f"""
version: 1
groups:
  oncall:
    members: [{", ".join(REVIEWERS)}]
defaults:
  ttl: 1h
  decision:
    require: {{approvals: 1, from: [oncall]}}
rules:
  - id: three-eyes
    match: {{action: "role.grant"}}
    decision:
      require: {{approvals: 3, from: [oncall]}}
"""


@pytest.fixture
async def pg(postgres_url: str, tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    runtime = Runtime(make_settings(postgres_url, tmp_path, policy_file=policy))
    await _empty(runtime)
    app = create_app(runtime.settings, runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://approvals.test",
    ) as http:
        keys = {
            "etl": (
                await clients_service.create(
                    runtime.db, name="etl", scopes=[Scope.SUBMIT], identity="svc:etl"
                )
            ).api_key
        }
        for i, email in enumerate(REVIEWERS):
            keys[f"r{i}"] = (
                await clients_service.create(
                    runtime.db, name=f"r{i}", scopes=[Scope.REVIEW], identity=email
                )
            ).api_key
        yield runtime, ApiClient(http, keys)
    await runtime.close()


async def _count(runtime: Runtime, query) -> int:
    async with runtime.db() as session:
        return int((await session.execute(query)).scalar_one())


async def test_twenty_conflicting_decisions_have_exactly_one_outcome(pg) -> None:
    runtime, api = pg
    created = await api.create()
    calls = [
        api.decide(f"r{i}", created["id"], "approve" if i % 2 else "deny", "not now")
        for i in range(20)
    ]
    responses = await asyncio.gather(*calls)
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1, codes
    assert codes.count(409) == 19
    winner = next(r for r in responses if r.status_code == 200).json()
    final = (await api.get("r0", created["id"])).json()
    assert final["verdict"] == winner["verdict"] in ("approved", "denied")
    assert await _count(runtime, select(func.count()).select_from(Vote)) == 1
    finals = await _count(
        runtime,
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.event_type.in_(["approved", "denied"])),
    )
    assert finals == 1
    async with runtime.db() as session:
        assert await audit_service.verify_all(session) is None


async def test_quorum_of_three_under_twenty_simultaneous_approvals(pg) -> None:
    runtime, api = pg
    created = await api.create(action="role.grant")
    responses = await asyncio.gather(
        *[api.decide(f"r{i}", created["id"], "approve") for i in range(20)]
    )
    assert sorted(r.status_code for r in responses).count(200) == 3
    final = (await api.get("r0", created["id"])).json()
    assert final["verdict"] == "approved"
    assert final["approvals"] == 3
    assert await _count(runtime, select(func.count()).select_from(Vote)) == 3


async def test_ten_simultaneous_submits_with_one_idempotency_key_make_one_request(pg) -> None:
    runtime, api = pg
    responses = await asyncio.gather(*[api.submit(key="nightly-2026-11-23") for _ in range(10)])
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _count(runtime, select(func.count()).select_from(ActionRequest)) == 1
    requested = await _count(
        runtime,
        select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "requested"),
    )
    assert requested == 1


async def test_a_failing_commit_answers_5xx_and_leaves_nothing_behind(pg) -> None:
    """A database-side failure at the last statement of intake: no row, event or job."""
    runtime, api = pg
    async with runtime.engine.begin() as connection:
        await connection.execute(
            text("""
            CREATE OR REPLACE FUNCTION fail_policy_event() RETURNS trigger AS $$
            BEGIN
              IF NEW.event_type = 'policy_evaluated' THEN
                RAISE EXCEPTION 'injected failure';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        )
        await connection.execute(
            text(
                "CREATE TRIGGER fail_policy_event BEFORE INSERT ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION fail_policy_event()"
            )
        )
    try:
        response = await api.http.post(
            "/v1/actions", json=action_body(requester="svc:etl"), headers=api.auth("etl")
        )
    finally:
        async with runtime.engine.begin() as connection:
            await connection.execute(text("DROP TRIGGER fail_policy_event ON audit_events"))
    assert response.status_code == 500
    assert response.json()["error"] == "internal"
    for model in (ActionRequest, OutboxMessage):
        assert await _count(runtime, select(func.count()).select_from(model)) == 0
    assert (
        await _count(
            runtime,
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action_id.is_not(None)),
        )
        == 0
    )
    retry = await api.http.post(
        "/v1/actions", json=action_body(requester="svc:etl"), headers=api.auth("etl")
    )
    assert retry.status_code == 201


async def test_a_click_racing_the_sweeper_at_the_expiry_instant_ends_expired_once(pg) -> None:
    from datetime import datetime

    from freezegun import freeze_time

    from approvals.actions import decisions

    runtime, api = pg
    created = await api.create(ttl_seconds=60)
    deadline = datetime.fromisoformat(created["expires_at"])
    with freeze_time(deadline):
        outcomes = await asyncio.gather(
            api.decide("r1", created["id"], "approve"),
            decisions.expire_due(runtime),
            api.decide("r2", created["id"], "approve"),
            return_exceptions=True,
        )
    assert [o.status_code for o in (outcomes[0], outcomes[2])] == [409, 409]
    assert (await api.get("r0", created["id"])).json()["verdict"] == "expired"
    expired_events = await _count(
        runtime,
        select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "expired"),
    )
    assert expired_events == 1
    assert await _count(runtime, select(func.count()).select_from(Vote)) == 0
