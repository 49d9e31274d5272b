"""Fixtures for the Slack adapter: one loopback Slack double per module, one app per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from approvals.channels.slack import SlackChannel, build_slack_app, build_web_client, slack_router
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.slack.slack_harness import (
    APPROVER,
    BOT_TOKEN,
    CHANNEL_ID,
    GUEST,
    OUTSIDER,
    REQUESTER,
    SECOND_APPROVER,
    SIGNING_SECRET,
    TEAM_ID,
    InMemoryReview,
    Slack,
)
from tests.unit.slack.slack_cards import NOW


@pytest.fixture(scope="module")
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(team_id=TEAM_ID) as api:
        yield api


@pytest.fixture
def fake(slack_api: FakeSlackApi) -> FakeSlackApi:
    slack_api.reset()
    slack_api.missing_channels.clear()
    for user_id, email in (APPROVER, SECOND_APPROVER, REQUESTER, OUTSIDER):
        slack_api.add_user(user_id, email)
    slack_api.add_user(GUEST[0], GUEST[1], team_id="T0PARTNER")
    return slack_api


@pytest.fixture
async def slack(fake: FakeSlackApi) -> AsyncIterator[Slack]:
    review = InMemoryReview([], approvers=[APPROVER[1], SECOND_APPROVER[1]], now=NOW)
    app = build_slack_app(
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=fake.base_url,
        review=review,
        allowed_team_id=None,  # the bot token's own workspace, learnt from auth.test
        web_url="https://approvals.example.org",
    )
    api = FastAPI()
    api.include_router(slack_router(app))
    channel = SlackChannel(build_web_client(bot_token=BOT_TOKEN, api_url=fake.base_url), CHANNEL_ID)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Slack(fake, review, http, channel)
