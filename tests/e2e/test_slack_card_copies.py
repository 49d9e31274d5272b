"""Every card copy a rule asks for reaches Slack or is dead-lettered and audited.

The real service and its outbox jobs against the loopback Slack double: one channel answers
429 more often than the client retries, another does not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from approvals.actions import messages
from approvals.audit import service as audit_service
from approvals.clients.schemas import Scope
from approvals.jobs import tasks
from approvals.outbox.models import OutboxMessage
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle
from tests.e2e.service_world import SUBMITTER, running_service
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.slack.slack_harness import BOT_TOKEN, CHANNEL_ID, SIGNING_SECRET, TEAM_ID

DBA, PRIVACY = "C0DBA", "C0PRIVACY"
POLICY = f"""
version: 1
groups:
  dba-oncall: {{members: [bob@example.org]}}
defaults:
  ttl: 1h
  decision:
    require: {{approvals: 1, from: [dba-oncall], channels: [slack:{DBA}, slack:{PRIVACY}]}}
rules:
  - id: default-and-named
    match: {{action: k8s.*}}
    decision:
      require: {{approvals: 1, from: [dba-oncall], channels: [slack, slack:{DBA}]}}
"""


@pytest.fixture(scope="module")
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(team_id=TEAM_ID) as api:
        yield api


@pytest.fixture
async def world(
    slack_api: FakeSlackApi, postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, ApiClient, FakeSlackApi]]:
    slack_api.reset()
    slack_api.missing_channels.clear()
    async with running_service(
        postgres_url,
        tmp_path,
        policy=POLICY,
        people=[SUBMITTER, ("bob", [Scope.REVIEW], "bob@example.org")],
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_api.base_url,
        slack_channel=CHANNEL_ID,
    ) as (runtime, api):
        yield runtime, api, slack_api


async def _card_job(runtime: Runtime, action_id: str) -> OutboxMessage:
    async with runtime.db() as session:
        query = select(OutboxMessage).where(
            OutboxMessage.target_id == action_id, OutboxMessage.kind == "cards.post"
        )
        return (await session.execute(query)).scalar_one()


async def _posted(runtime: Runtime, action_id: str) -> list[str]:
    return sorted(m.channel_id for m in await messages.posted(runtime.db, action_id))


async def _dead_letters(runtime: Runtime, action_id: str) -> list[dict[str, object]]:
    async with runtime.db() as session:
        events = await audit_service.events_for(session, action_id)
    return [e.payload for e in events if e.event_type == "card_undeliverable"]


class TestRateLimitedCopy:
    async def test_a_copy_rate_limited_past_the_client_retries_is_posted_by_the_job_retry(
        self, world
    ) -> None:
        runtime, api, slack = world
        slack.fail_posts_to(PRIVACY, times=3)
        created = await api.create()
        await settle(runtime)

        assert await _posted(runtime, created["id"]) == [DBA]
        job = await _card_job(runtime, created["id"])
        assert job.done_at is None, "the job must not report OK while a copy is missing"
        assert job.last_error == "CopiesPending"

        await tasks.run(runtime, job.id)  # the relay's next attempt, run now

        assert await _posted(runtime, created["id"]) == [DBA, PRIVACY]
        assert (await _card_job(runtime, created["id"])).done_at is not None
        to_dba = [c for c in slack.calls("chat.postMessage") if c.body["channel"] == DBA]
        assert len(to_dba) == 1, "the copy already posted is not posted again"
        assert await _dead_letters(runtime, created["id"]) == []

    async def test_a_copy_still_failing_when_the_request_is_over_is_dead_lettered_and_audited(
        self, world
    ) -> None:
        runtime, api, slack = world
        slack.fail_posts_to(PRIVACY, times=100)
        created = await api.create()
        await settle(runtime)
        assert (await api.decide("bob", created["id"], "approve")).status_code == 200
        await settle(runtime)

        await tasks.run(runtime, (await _card_job(runtime, created["id"])).id)

        assert await _posted(runtime, created["id"]) == [DBA]
        (dead,) = await _dead_letters(runtime, created["id"])
        assert dead["platform"] == "slack" and dead["channel"] == PRIVACY
        assert str(dead["error"]).startswith("ratelimited; gave up")
        assert (await _card_job(runtime, created["id"])).done_at is not None


class TestGoneChannel:
    async def test_a_channel_that_does_not_exist_is_dead_lettered_at_once(self, world) -> None:
        runtime, api, slack = world
        slack.missing_channels.add(PRIVACY)
        created = await api.create()
        await settle(runtime)

        assert await _posted(runtime, created["id"]) == [DBA]
        (dead,) = await _dead_letters(runtime, created["id"])
        assert (dead["channel"], dead["error"]) == (PRIVACY, "channel_not_found")
        assert (await _card_job(runtime, created["id"])).done_at is not None


class TestBareAndNamedChannels:
    async def test_a_bare_slack_beside_a_named_channel_also_posts_to_the_default(
        self, world
    ) -> None:
        runtime, api, _ = world
        created = await api.create(action="k8s.scale")
        await settle(runtime)

        assert created["channels"] == ["slack", f"slack:{DBA}"]
        assert await _posted(runtime, created["id"]) == sorted([CHANNEL_ID, DBA])
