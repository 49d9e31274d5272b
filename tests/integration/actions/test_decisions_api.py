"""Decisions, quorum, refusals, cancel, expiry and waiting, through the HTTP API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from approvals.actions import decisions
from approvals.audit import service as audit_service
from approvals.audit.models import AuditEvent
from approvals.kit.clock import utc_now
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle

EXPORT = {"action": "s3.export", "environment": "prod", "resource": "s3://exports/2026-11"}


async def _events(runtime: Runtime, action_id: str) -> list[str]:
    await settle(runtime)
    async with runtime.db() as session:
        return [e.event_type for e in await audit_service.events_for(session, action_id)]


class TestSingleApproval:
    async def test_group_member_approves(self, api: ApiClient, runtime: Runtime) -> None:
        created = await api.create()
        response = await api.decide("bob", created["id"], "approve")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "approved"
        assert body["decided_by"] == "bob@example.org"
        assert [(v["approver"], v["verdict"], v["platform"]) for v in body["votes"]] == [
            ("bob@example.org", "approve", "api")
        ]
        assert await _events(runtime, created["id"]) == [
            "requested",
            "redacted",
            "policy_evaluated",
            "vote",
            "approved",
            "released",
        ]

    async def test_deny_needs_a_reason_and_ends_the_request(self, api: ApiClient) -> None:
        created = await api.create()
        missing = await api.decide("bob", created["id"], "deny")
        assert missing.status_code == 422
        denied = await api.decide("bob", created["id"], "deny", "use the de-identified view")
        assert denied.json()["status"] == "denied"
        assert denied.json()["decision_reason"] == "use the de-identified view"

    async def test_second_decision_is_refused_with_who_and_when(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        created = await api.create()
        await api.decide("bob", created["id"], "approve")
        await settle(runtime)  # the release job's audit event lands before the late attempt
        late = await api.decide("carol", created["id"], "deny", "no")
        assert late.status_code == 409
        assert late.json()["error"] == "already_decided"
        assert "already approved by bob@example.org at" in late.json()["detail"]
        assert (await _events(runtime, created["id"]))[-1] == "refused_vote"

    async def test_double_click_counts_once(self, api: ApiClient) -> None:
        created = await api.create()
        first = await api.decide("bob", created["id"], "approve")
        again = await api.decide("bob", created["id"], "approve")
        assert first.status_code == again.status_code == 200
        assert len(again.json()["votes"]) == 1


class TestRefusals:
    async def test_requester_cannot_approve_own_request(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        created = await api.create(on_behalf_of="Bob@Example.org")
        response = await api.decide("bob", created["id"], "approve")
        assert response.status_code == 403
        assert response.json()["error"] == "self_approval"
        assert "you requested this action" in response.json()["detail"]
        assert (await _events(runtime, created["id"]))[-1] == "refused_vote"
        assert (await api.get("bob", created["id"])).json()["status"] == "pending"

    @pytest.mark.parametrize(
        "spelling",
        ["Carol <carol@example.org>", "car\u200bol@example.org", "carol\uff20example.org"],
    )
    async def test_another_spelling_of_on_behalf_of_cannot_approve(
        self, api: ApiClient, spelling: str
    ) -> None:
        created = await api.create(on_behalf_of=spelling)
        assert created["on_behalf_of"] == "carol@example.org"
        response = await api.decide("carol", created["id"], "approve")
        assert response.status_code == 403
        assert response.json()["error"] == "self_approval"
        assert (await api.get("bob", created["id"])).json()["status"] == "pending"

    @pytest.mark.parametrize(
        "value",
        ["\u0441arol@example.org", "Carol Smith", "carol@@example.org", "Carol <>", "\u200b"],
    )
    async def test_an_identity_that_is_not_one_is_refused_without_echo(
        self, api: ApiClient, value: str
    ) -> None:
        for field in ("on_behalf_of", "requester"):
            response = await api.submit(**{field: value})
            assert response.status_code == 422, response.text
            assert response.json()["detail"][0]["loc"] == [field]
            assert value not in response.text and "arol" not in response.text

    async def test_submitting_client_identity_cannot_approve_even_as_admin(
        self, api: ApiClient
    ) -> None:
        response = await api.http.post(
            "/v1/actions",
            json={"action": "sql.execute", "resource": "db", "environment": "staging"},
            headers=api.auth("admin"),
        )
        decided = await api.decide("admin", response.json()["id"], "approve")
        assert decided.status_code == 403 and decided.json()["error"] == "self_approval"

    async def test_outsider_is_refused_naming_the_group(self, api: ApiClient) -> None:
        created = await api.create()
        response = await api.decide("mallory", created["id"], "approve")
        assert response.status_code == 403
        assert response.json()["detail"].startswith("you are not in group dba-oncall")

    async def test_submit_only_key_cannot_decide(self, api: ApiClient) -> None:
        created = await api.create()
        assert (await api.decide("etl", created["id"], "approve")).status_code == 403

    async def test_expired_request_cannot_be_approved_before_any_sweeper(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        created = await api.create(ttl_seconds=60)
        with freeze_time(utc_now() + timedelta(seconds=61)):
            response = await api.decide("bob", created["id"], "approve")
        assert response.status_code == 409
        assert response.json()["error"] == "expired"
        assert (await api.get("bob", created["id"])).json()["verdict"] == "expired"
        assert "expired" in await _events(runtime, created["id"])


class TestQuorum:
    async def test_two_distinct_approvers_from_the_named_groups(self, api: ApiClient) -> None:
        created = await api.create(**EXPORT)
        assert created["required_approvals"] == 2
        first = await api.decide("dana", created["id"], "approve")
        assert first.json()["status"] == "pending" and first.json()["approvals"] == 1
        second = await api.decide("bob", created["id"], "approve")
        assert second.json()["status"] == "approved"
        assert second.json()["decided_by"] == "bob@example.org, dana@example.org"

    async def test_one_deny_ends_a_quorum_request(self, api: ApiClient) -> None:
        created = await api.create(**EXPORT)
        await api.decide("dana", created["id"], "approve")
        denied = await api.decide("carol", created["id"], "deny", "wrong bucket")
        assert denied.json()["status"] == "denied"

    async def test_a_vote_cannot_be_changed(self, api: ApiClient) -> None:
        created = await api.create(**EXPORT)
        await api.decide("dana", created["id"], "approve")
        flip = await api.decide("dana", created["id"], "deny", "changed my mind")
        assert flip.status_code == 409
        assert "you already voted approve" in flip.json()["detail"]


class TestCancelAndExpire:
    async def test_requester_cancels_and_others_cannot(self, api: ApiClient) -> None:
        created = await api.create()
        foreign = await api.http.post(
            f"/v1/actions/{created['id']}/cancel", headers=api.auth("bob")
        )
        assert foreign.status_code == 403
        ok = await api.http.post(f"/v1/actions/{created['id']}/cancel", headers=api.auth("etl"))
        assert ok.json()["status"] == "cancelled"
        again = await api.http.post(f"/v1/actions/{created['id']}/cancel", headers=api.auth("etl"))
        assert again.status_code == 409

    async def test_sweeper_expires_overdue_requests_only(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        short = await api.create(ttl_seconds=60)
        long_ = await api.create()
        with freeze_time(utc_now() + timedelta(seconds=120)):
            expired = await decisions.expire_due(runtime)
        assert expired == [short["id"]]
        assert (await api.get("bob", long_["id"])).json()["status"] == "pending"


class TestWait:
    async def test_wait_returns_as_soon_as_a_decision_commits(self, api: ApiClient) -> None:
        created = await api.create()
        waiter = asyncio.create_task(
            api.http.get(f"/v1/actions/{created['id']}/wait?timeout=20", headers=api.auth("etl"))
        )
        await asyncio.sleep(0.2)
        assert not waiter.done()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await api.decide("bob", created["id"], "approve")
        response = await asyncio.wait_for(waiter, 5)
        assert response.json()["verdict"] == "approved"
        assert loop.time() - started < 2

    async def test_an_approval_is_waited_on_until_its_release_token_exists(
        self, api: ApiClient
    ) -> None:
        created = await api.create()
        waiter = asyncio.create_task(
            api.http.get(f"/v1/actions/{created['id']}/wait?timeout=20", headers=api.auth("etl"))
        )
        await asyncio.sleep(0.2)
        await api.decide("bob", created["id"], "approve")
        body = (await asyncio.wait_for(waiter, 5)).json()
        # One long-poll is enough for the requester: released, with the token to run it.
        assert (body["status"], body["verdict"]) == ("released", "approved")
        assert body["release_token"]

    async def test_a_denial_ends_the_wait_at_once_with_the_reason(self, api: ApiClient) -> None:
        created = await api.create()
        waiter = asyncio.create_task(
            api.http.get(f"/v1/actions/{created['id']}/wait?timeout=20", headers=api.auth("etl"))
        )
        await asyncio.sleep(0.2)
        await api.decide("bob", created["id"], "deny", "use the de-identified view")
        body = (await asyncio.wait_for(waiter, 5)).json()
        assert body["verdict"] == "denied"
        assert body["decision_reason"] == "use the de-identified view"
        assert body["release_token"] is None

    async def test_wait_times_out_with_pending(self, api: ApiClient) -> None:
        created = await api.create()
        response = await api.http.get(
            f"/v1/actions/{created['id']}/wait?timeout=0.3", headers=api.auth("etl")
        )
        assert response.json()["status"] == "pending"


async def test_audit_chain_verifies_after_a_full_lifecycle(
    api: ApiClient, runtime: Runtime
) -> None:
    created = await api.create(**EXPORT)
    await api.decide("dana", created["id"], "approve")
    await api.decide("mallory", created["id"], "approve")
    await api.decide("bob", created["id"], "approve")
    async with runtime.db() as session:
        assert await audit_service.verify_all(session) is None
        count = len((await session.execute(select(AuditEvent.seq))).scalars().all())
    assert count >= 9
