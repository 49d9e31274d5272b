"""Requester notifications through the real core: a DM when the request is posted, decided,
expired or released, to the requester/on_behalf_of whom Slack knows by email.

Only Slack's Web API is a double; the actions service writes the notices with each state
change, the outbox jobs send them through `SlackChannel.notify` (users.lookupByEmail, then
chat.postMessage to the user id).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from approvals.actions import messages, notices
from approvals.actions.models import ActionRequest, RequesterNotice
from approvals.clients.schemas import Scope
from approvals.kit.clock import utc_now
from approvals.outbox.models import OutboxMessage
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle
from tests.e2e.service_world import running_service
from tests.fakes.slack_api import FakeSlackApi, RecordedCall
from tests.integration.slack.slack_harness import (
    BOT_TOKEN,
    CHANNEL_ID,
    SIGNING_SECRET,
    TEAM_ID,
    block_action,
    form,
    sign,
)

POLICY = """
version: 1
groups:
  dba-oncall: {members: [bob@example.org, carol@example.org]}
defaults:
  ttl: 1h
  notify_requester: %s
  decision:
    require: {approvals: 1, from: [dba-oncall], channels: [slack, web]}
"""
BOB, ALICE = ("U0BOB", "bob@example.org"), ("U0ALICE", "alice@example.org")
PHI = {"patient_name": "Jane Roe", "ssn": "123-45-6789", "mrn": "MRN-00424242"}
PLANTED = ("Jane Roe", "123-45-6789", "MRN-00424242")

World = tuple[Runtime, ApiClient, FakeSlackApi]


@pytest.fixture(scope="module")
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(team_id=TEAM_ID) as api:
        yield api


@pytest.fixture
def make_world(
    slack_api: FakeSlackApi, postgres_url: str, tmp_path: Path
) -> Callable[[bool], AbstractAsyncContextManager[World]]:
    """Runs the service with `notify_requester` on or off."""

    @asynccontextmanager
    async def build(notify: bool = True) -> AsyncIterator[World]:
        slack_api.reset()
        for user_id, email in (BOB, ALICE):
            slack_api.add_user(user_id, email)
        async with running_service(
            postgres_url,
            tmp_path,
            policy=POLICY % ("true" if notify else "false"),
            people=[("etl", [Scope.SUBMIT], "svc:etl"), ("bob", [Scope.REVIEW], BOB[1])],
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack_api.base_url,
            slack_channel=CHANNEL_ID,
        ) as (runtime, api):
            yield runtime, api, slack_api

    return build


@pytest.fixture
async def world(
    make_world: Callable[[bool], AbstractAsyncContextManager[World]],
) -> AsyncIterator[World]:
    async with make_world(True) as built:
        yield built


def _dms(slack: FakeSlackApi, user_id: str = ALICE[0]) -> list[RecordedCall]:
    return [c for c in slack.calls("chat.postMessage") if c.body.get("channel") == user_id]


def _text(call: RecordedCall) -> str:
    return str(call.body["text"])


def _no_phi(calls: list[RecordedCall]) -> None:
    dumped = json.dumps([c.body for c in calls])
    for planted in PLANTED:
        assert planted not in dumped


async def _submit(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"requester": "svc:etl", "on_behalf_of": ALICE[1], "context": PHI}
    body.update(overrides)
    return await api.create(**body)


async def test_requester_hears_posted_approved_and_released(world: World) -> None:
    runtime, api, slack = world
    created = await _submit(api, resource="db.prod.encounters <!channel>")
    await settle(runtime)
    (posted,) = _dms(slack)
    assert _text(posted).startswith(
        ":hourglass_flowing_sand: A request on your behalf by svc:etl *sql.execute* on "
        "db.prod.encounters &lt;!channel&gt; (staging) is waiting for review by dba-oncall"
    )
    assert f"<http://approvals.test/ui/actions/{created['id']}|Open the request>" in _text(posted)
    assert posted.body["blocks"]  # a verbatim section: no auto-linked names or channels
    (lookup, *_) = slack.calls("users.lookupByEmail")
    assert lookup.body["email"] == ALICE[1]

    (ref,) = await messages.posted(runtime.db, created["id"])
    payload = form(block_action(user_id=BOB[0], action_id=created["id"], message_ts=ref.message_id))
    signed = sign(payload)
    response = await api.http.post("/slack/events", content=signed.body, headers=signed.headers)
    assert response.status_code == 200
    await slack.wait_for("chat.update")
    await settle(runtime)
    await asyncio.sleep(0.2)
    await settle(runtime)

    texts = [_text(c) for c in _dms(slack)]
    assert len(texts) == 3, texts
    # The approved and released notices are separate jobs: their order is not guaranteed.
    (released,) = [t for t in texts[1:] if t.startswith(":rocket:")]
    (approved,) = [t for t in texts[1:] if not t.startswith(":rocket:")]
    assert "was approved by bob@example.org" in approved
    assert released.startswith(":rocket: A request on your behalf by svc:etl *sql.execute*")
    assert "is released" in released
    _no_phi(slack.calls())


async def test_denial_tells_who_and_why_without_phi(world: World) -> None:
    runtime, api, slack = world
    created = await _submit(api, requester=ALICE[1], on_behalf_of=None)
    await settle(runtime)
    reason = "patient Jane Roe SSN 123-45-6789 is not ours & <@U0BOB> should ask"
    denied = await api.decide("bob", created["id"], "deny", reason)
    assert denied.status_code == 200, denied.text
    await settle(runtime)

    posted, deny = _dms(slack)
    assert _text(posted).startswith(":hourglass_flowing_sand: Your request *sql.execute*")
    text = _text(deny)
    assert text.startswith(
        ":no_entry: Your request *sql.execute* on db.prod.encounters (staging) "
        "was denied by bob@example.org. Nothing will run.\nReason: “"
    )
    assert "&amp; &lt;@U0BOB&gt; should ask" in text  # escaped: no mention, no link
    assert "<@" not in text
    _no_phi(slack.calls())
    async with runtime.db() as session:
        rows = await notices.for_action(session, created["id"])
    assert [(r.event, r.state, r.sent_to) for r in rows] == [
        ("posted", "sent", [ALICE[1]]),
        ("denied", "sent", [ALICE[1]]),
    ]


async def test_expiry_is_told(world: World) -> None:
    from approvals.actions import decisions

    runtime, api, slack = world
    created = await _submit(api)
    await settle(runtime)
    async with runtime.engine.begin() as connection:
        await connection.execute(update(ActionRequest).values(expires_at=utc_now()))
    assert await decisions.expire_due(runtime) == [created["id"]]
    await settle(runtime)
    texts = [_text(c) for c in _dms(slack)]
    assert len(texts) == 2
    assert texts[1].startswith(":alarm_clock: A request on your behalf by svc:etl *sql.execute*")
    assert "expired: nobody decided in time" in texts[1]


async def test_policy_turns_the_messages_off(
    make_world: Callable[[bool], AbstractAsyncContextManager[World]],
) -> None:
    async with make_world(False) as (runtime, api, slack):
        created = await _submit(api, requester=ALICE[1])
        await settle(runtime)
        assert (await api.decide("bob", created["id"], "deny", "no")).status_code == 200
        await settle(runtime)
        assert [c.body["channel"] for c in slack.calls("chat.postMessage")] == [CHANNEL_ID]
        assert slack.calls("users.lookupByEmail") == []
        async with runtime.db() as session:
            rows = await notices.for_action(session, created["id"])
        assert {(r.state, r.detail) for r in rows} == {("skipped", "policy: off")}


async def test_unknown_people_and_services_get_nothing(world: World) -> None:
    runtime, api, slack = world
    created = await _submit(api, requester="svc:etl", on_behalf_of="stranger@example.org")
    await settle(runtime)
    assert [c.body["channel"] for c in slack.calls("chat.postMessage")] == [CHANNEL_ID]
    lookups = [c.body["email"] for c in slack.calls("users.lookupByEmail")]
    assert lookups == ["stranger@example.org"]  # never svc:etl
    async with runtime.db() as session:
        (row,) = await notices.for_action(session, created["id"])
    assert (row.state, row.sent_to) == ("skipped", [])


async def test_each_message_is_sent_once_when_the_job_runs_again(world: World) -> None:
    runtime, api, slack = world
    created = await _submit(api)
    await settle(runtime)
    assert len(_dms(slack)) == 1
    async with runtime.db() as session:
        (row_id,) = (
            await session.execute(
                select(OutboxMessage.id).where(
                    OutboxMessage.dedupe_key == f"notify.requester:{created['id']}:posted"
                )
            )
        ).scalars()
    async with runtime.engine.begin() as connection:  # as if the worker died before marking it
        await connection.execute(
            update(OutboxMessage).where(OutboxMessage.id == row_id).values(done_at=None)
        )
    await asyncio.gather(runtime.run_job(row_id), runtime.run_job(row_id))
    await runtime.run_job(row_id)
    await settle(runtime)
    assert len(_dms(slack)) == 1


async def test_a_run_finding_the_notice_claimed_sends_nothing_and_retries_after_the_lease(
    world: World,
) -> None:
    """No lock is held across Slack's calls: a run claims the notice for a lease. Another run
    meanwhile sends nothing and asks for a retry after the lease; once a lease lapsed (its run
    died before recording anything), the notice is sent by the next run."""
    runtime, api, slack = world
    created = await _submit(api)
    await settle(runtime)
    assert len(_dms(slack)) == 1
    key = f"notify.requester:{created['id']}:posted"
    async with runtime.db() as session:
        row = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
        ).scalar_one()
    reopened = {"state": "pending", "sent_to": [], "finished_at": None}
    async with runtime.engine.begin() as connection:  # another run holds it, sending now
        await connection.execute(
            update(RequesterNotice)
            .where(RequesterNotice.id == row.target_id)
            .values(**reopened, claimed_until=utc_now() + timedelta(seconds=60))
        )
        await connection.execute(
            update(OutboxMessage).where(OutboxMessage.id == row.id).values(done_at=None)
        )
    await runtime.run_job(row.id)
    assert len(_dms(slack)) == 1
    async with runtime.db() as session:
        retried = await session.get(OutboxMessage, row.id)
        assert retried is not None
        assert retried.done_at is None
        assert retried.last_error == "another run is sending this notice"
        assert retried.next_attempt_at > utc_now() + timedelta(seconds=30)
    async with runtime.engine.begin() as connection:  # that run died: its lease lapses
        await connection.execute(
            update(RequesterNotice)
            .where(RequesterNotice.id == row.target_id)
            .values(claimed_until=utc_now() - timedelta(seconds=1))
        )
    await runtime.run_job(row.id)
    assert len(_dms(slack)) == 2
    async with runtime.db() as session:
        notice = await session.get(RequesterNotice, row.target_id)
        assert notice is not None
        assert (notice.state, notice.sent_to, notice.claimed_until) == ("sent", [ALICE[1]], None)
