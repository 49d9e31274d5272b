"""A Slack Approve click on a step-up request answers with a link to the request's page that
only the clicking person can use, once, within ten minutes (real bolt, real core, loopback
Slack double, the web page through the app)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from approvals.actions import messages
from approvals.clients.schemas import Scope
from approvals.kit.clock import utc_now
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle
from tests.e2e.service_world import SUBMITTER, running_service
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.slack.slack_harness import (
    BOT_TOKEN,
    CHANNEL_ID,
    SIGNING_SECRET,
    TEAM_ID,
    block_action,
    form,
    sign,
)
from tests.policies import dba_oncall_policy

POLICY = dba_oncall_policy("slack, web", step_up="passkey")
BOB, CAROL = ("U0BOB", "bob@example.org"), ("U0CAROL", "carol@example.org")
LINK = re.compile(r"http://approvals\.test(/ui/step-up/[A-Za-z0-9_-]+)")


@pytest.fixture(scope="module")
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(team_id=TEAM_ID) as api:
        yield api


@pytest.fixture
async def world(
    slack_api: FakeSlackApi, postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, ApiClient, FakeSlackApi]]:
    slack_api.reset()
    for user_id, email in (BOB, CAROL):
        slack_api.add_user(user_id, email)
    async with running_service(
        postgres_url,
        tmp_path,
        policy=POLICY,
        people=[
            SUBMITTER,
            ("bob", [Scope.REVIEW], BOB[1]),
            ("carol", [Scope.REVIEW], CAROL[1]),
        ],
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_api.base_url,
        slack_channel=CHANNEL_ID,
    ) as (runtime, api):
        yield runtime, api, slack_api


async def _link_from_a_click(
    world: tuple[Runtime, ApiClient, FakeSlackApi], user: str
) -> tuple[str, str]:
    runtime, api, slack = world
    created = await api.create(action="s3.export")
    await settle(runtime)
    (ref,) = await messages.posted(runtime.db, created["id"])
    signed = sign(
        form(block_action(user_id=user, action_id=created["id"], message_ts=ref.message_id))
    )
    await api.http.post("/slack/events", content=signed.body, headers=signed.headers)
    (ephemeral,) = await slack.wait_for("chat.postEphemeral")
    found = LINK.search(ephemeral.body["text"])
    assert found, ephemeral.body["text"]
    assert "yours only, once, within 10 minutes" in ephemeral.body["text"]
    return found.group(1), str(created["id"])


async def _web_as(api: ApiClient, who: str) -> None:
    api.http.cookies.clear()
    assert (await api.http.post("/ui/login", data={"api_key": api.keys[who]})).status_code == 303


async def test_the_link_leads_the_clicking_person_to_the_request_once(world) -> None:
    _, api, _ = world
    link, action_id = await _link_from_a_click(world, BOB[0])
    await _web_as(api, "bob")
    opened = await api.http.get(link)
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/ui/actions/{action_id}"
    again = await api.http.get(link)
    assert again.status_code == 403
    assert "already used" in again.text


async def test_another_person_cannot_use_it_and_spends_it(world) -> None:
    _, api, _ = world
    link, _ = await _link_from_a_click(world, BOB[0])
    await _web_as(api, "carol")
    refused = await api.http.get(link)
    assert refused.status_code == 403
    assert "made for the person who clicked it in chat, not for you" in refused.text
    await _web_as(api, "bob")
    assert (await api.http.get(link)).status_code == 403  # forwarded once: gone for all


async def test_a_late_link_is_refused(world) -> None:
    _, api, _ = world
    link, _ = await _link_from_a_click(world, BOB[0])
    await _web_as(api, "bob")
    with freeze_time(utc_now() + timedelta(minutes=11)):
        late = await api.http.get(link)
    assert late.status_code == 403
    assert "expired" in late.text


async def test_signed_out_the_link_waits_for_sign_in(world) -> None:
    _, api, _ = world
    link, _ = await _link_from_a_click(world, BOB[0])
    api.http.cookies.clear()
    page = await api.http.get(link)
    assert "Sign in to continue to the request you approved in chat" in page.text
    await _web_as(api, "bob")
    assert (await api.http.get(link)).status_code == 303  # not spent by the signed-out visit
