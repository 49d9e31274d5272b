"""Slack through the real core: intake posts the card, clicks decide, every copy follows.

Only Slack's Web API is a double (loopback, Slack's shapes); bolt verifies the signed
requests, the actions service decides, the outbox jobs post and update the cards.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from approvals.actions import messages
from approvals.audit import service as audit_service
from approvals.channels.slack.blocks import DENY_ACTION_ID
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle
from tests.e2e.service_world import running_service
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.slack.slack_harness import (
    BOT_TOKEN,
    CHANNEL_ID,
    SIGNING_SECRET,
    TEAM_ID,
    block_action,
    form,
    sign,
    view_submission,
)
from tests.policies import dba_oncall_policy

POLICY = dba_oncall_policy("slack, web", rules=[("exports-step-up", "*.export", "true")])
BOB, ALICE = ("U0BOB", "bob@example.org"), ("U0ALICE", "alice@example.org")


@pytest.fixture(scope="module")
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(team_id=TEAM_ID) as api:
        yield api


@pytest.fixture
async def world(
    slack_api: FakeSlackApi, postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, ApiClient, FakeSlackApi]]:
    slack_api.reset()
    for user_id, email in (BOB, ALICE):
        slack_api.add_user(user_id, email)
    async with running_service(
        postgres_url,
        tmp_path,
        policy=POLICY,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_api.base_url,
        slack_channel=CHANNEL_ID,
    ) as (runtime, api):
        yield runtime, api, slack_api


_drain = settle


async def _click(api: ApiClient, user_id: str, action_id: str, ts: str) -> httpx.Response:
    payload = block_action(user_id=user_id, action_id=action_id, message_ts=ts)
    signed = sign(form(payload))
    return await api.http.post("/slack/events", content=signed.body, headers=signed.headers)


def _blocks(call_body: dict[str, Any]) -> str:
    blocks = call_body.get("blocks")
    return blocks if isinstance(blocks, str) else json.dumps(blocks)


# Identifiers written inline, with no cue word or one joined by a hyphen (issue 13).
INLINE = "seen today (MRN-99812345); ref 123456789, callback 6175550142"
INLINE_VALUES = ("99812345", "123456789", "6175550142")


async def test_card_is_posted_decided_in_slack_and_updated_in_place(world) -> None:
    runtime, api, slack = world
    created = await api.create(
        on_behalf_of=ALICE[1],
        justification=f"re-run the import {INLINE}",
        context={"patient_name": "Jane Roe", "rows": 12, "note": INLINE},
    )
    await _drain(runtime)
    posts = slack.calls("chat.postMessage")  # the card, and Alice's DM (on_behalf_of)
    (posted,) = [c for c in posts if c.body["channel"] == CHANNEL_ID]
    assert [c.body["channel"] for c in posts if c is not posted] == [ALICE[0]]
    assert "Jane Roe" not in json.dumps(posted.body)
    assert created["id"] in _blocks(posted.body)
    (ref,) = await messages.posted(runtime.db, created["id"])
    assert (ref.platform, ref.channel_id) == ("slack", CHANNEL_ID)

    refused = await _click(api, ALICE[0], created["id"], ref.message_id)
    assert refused.status_code == 200
    ephemeral = await slack.wait_for("chat.postEphemeral")
    assert "You requested this action" in ephemeral[0].body["text"]

    accepted = await _click(api, BOB[0], created["id"], ref.message_id)
    assert accepted.status_code == 200
    await slack.wait_for("chat.update")
    await _drain(runtime)
    state = (await api.get("etl", created["id"])).json()
    assert state["status"] == "released"  # approved, then the release job minted the token
    assert state["release_token"]
    assert [(v["approver"], v["platform"]) for v in state["votes"]] == [(BOB[1], "slack")]
    final = slack.message(CHANNEL_ID, ref.message_id)
    assert final is not None
    assert not any(block["type"] == "actions" for block in final["blocks"])
    assert "bob@example.org" in json.dumps(final["blocks"])
    async with runtime.db() as session:
        kinds = [e.event_type for e in await audit_service.events_for(session, created["id"])]
    assert kinds.count("refused_vote") == 1
    assert "card_posted" in kinds
    leaked = json.dumps([c.body for c in slack.calls()])  # every recorded Web API call
    for value in ("Jane Roe", *INLINE_VALUES):
        assert value not in leaked


async def test_a_redelivered_click_counts_once(world) -> None:
    runtime, api, _ = world
    created = await api.create()
    await _drain(runtime)
    (ref,) = await messages.posted(runtime.db, created["id"])
    payload = form(block_action(user_id=BOB[0], action_id=created["id"], message_ts=ref.message_id))
    first, retry = sign(payload), sign(payload, retry_num=1)
    responses = await asyncio.gather(
        api.http.post("/slack/events", content=first.body, headers=first.headers),
        api.http.post("/slack/events", content=retry.body, headers=retry.headers),
    )
    assert [r.status_code for r in responses] == [200, 200]
    await asyncio.sleep(0.5)
    await _drain(runtime)
    state = (await api.get("etl", created["id"])).json()
    assert state["status"] == "released"
    assert len(state["votes"]) == 1


async def test_reminder_in_thread_and_escalation_fire_once_each(world) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from approvals.actions.models import ActionRequest
    from approvals.jobs import reconciler
    from approvals.kit.clock import utc_now

    runtime, api, slack = world
    created = await api.create()
    await _drain(runtime)
    (first_copy,) = await messages.posted(runtime.db, created["id"])
    async with runtime.engine.begin() as connection:  # the rule's remind/escalate moments pass
        await connection.execute(
            update(ActionRequest).values(
                remind_at=utc_now() - timedelta(seconds=1),
                escalate_at=utc_now() - timedelta(seconds=1),
                escalate_to=["slack:C0ESCALATE"],
            )
        )
    for _ in range(2):
        await reconciler.tick(runtime, runtime.queue, lease_seconds=60)
        await _drain(runtime)
    posts = slack.calls("chat.postMessage")
    replies = [c for c in posts if c.body.get("thread_ts")]
    escalations = [c for c in posts if c.body.get("channel") == "C0ESCALATE"]
    assert len(replies) == 1
    assert replies[0].body["thread_ts"] == first_copy.message_id
    assert "Still waiting for a decision" in replies[0].body["text"]
    assert len(escalations) == 1
    async with runtime.db() as session:
        kinds = [e.event_type for e in await audit_service.events_for(session, created["id"])]
    assert kinds.count("reminded") == 1
    assert kinds.count("escalated") == 1
    assert len(await messages.posted(runtime.db, created["id"])) == 2


async def test_home_tab_and_slash_command_show_the_real_queue(world) -> None:
    from tests.integration.slack.home_payloads import app_home_opened, home_click, slash_command

    runtime, api, slack = world
    planted = {"patient_name": "Jane Roe", "mrn": "MRN-00424242", "note": "call 555-867-5309"}
    created = await api.create(
        on_behalf_of=ALICE[1],
        resource="db.staging.visits",
        justification="fix the visit of Jane Roe",
        context=planted,
    )
    await _drain(runtime)

    opened = sign(app_home_opened(user_id=BOB[0]), content_type="application/json")
    assert (
        await api.http.post("/slack/events", content=opened.body, headers=opened.headers)
    ).status_code == 200
    await slack.wait_for("views.publish")
    assert created["id"] in json.dumps(slack.home_views[BOB[0]]["blocks"])

    asked = slash_command(user_id=ALICE[0], text="pending", response_url=slack.response_url())
    signed = sign(asked)
    await api.http.post("/slack/events", content=signed.body, headers=signed.headers)
    (answer,) = await slack.wait_for("response_url")
    assert created["id"] not in json.dumps(answer.body)  # her own request: nothing to decide

    shown = slash_command(
        user_id=ALICE[0], text=f"show {created['id']}", response_url=slack.response_url("2")
    )
    signed = sign(shown)
    await api.http.post("/slack/events", content=signed.body, headers=signed.headers)
    (_, card) = await slack.wait_for("response_url", count=2)
    assert "[NAME-1]" in json.dumps(card.body)  # her card, with the redacted context
    leaked = json.dumps([c.body for c in slack.calls()] + list(slack.home_views.values()))
    for value in ("Jane Roe", "MRN-00424242", "555-867-5309"):
        assert value not in leaked  # not in the Home tab, the command answers or any call

    click = sign(form(home_click(user_id=BOB[0], action_id=created["id"])))
    await api.http.post("/slack/events", content=click.body, headers=click.headers)
    await slack.wait_for("views.publish", count=2)
    await _drain(runtime)
    state = (await api.get("etl", created["id"])).json()
    assert [(v["approver"], v["platform"]) for v in state["votes"]] == [(BOB[1], "slack")]
    assert created["id"] not in json.dumps(slack.home_views[BOB[0]]["blocks"])


async def test_a_second_click_of_the_same_vote_is_answered_already_voted(world) -> None:
    runtime, api, slack = world
    created = await api.create()
    await _drain(runtime)
    (ref,) = await messages.posted(runtime.db, created["id"])

    first = await _click(api, BOB[0], created["id"], ref.message_id)
    await slack.wait_for("chat.update")
    await _drain(runtime)
    again = await _click(api, BOB[0], created["id"], ref.message_id)

    assert (first.status_code, again.status_code) == (200, 200)
    (ephemeral,) = await slack.wait_for("chat.postEphemeral")
    assert ephemeral.body["user"] == BOB[0]
    assert ephemeral.body["text"].startswith("You already voted approve at ")
    assert "it counts once" in ephemeral.body["text"]
    state = (await api.get("etl", created["id"])).json()
    assert len(state["votes"]) == 1


async def test_show_gives_the_requester_the_status_without_buttons(world) -> None:
    from tests.integration.slack.home_payloads import slash_command

    runtime, api, slack = world
    created = await api.create(on_behalf_of=ALICE[1], resource="db.*prod*.visits")
    await _drain(runtime)

    answers = []
    for number, user_id in enumerate((ALICE[0], BOB[0]), start=1):
        asked = slash_command(
            user_id=user_id,
            text=f"show {created['id']}",
            response_url=slack.response_url(str(number)),
        )
        signed = sign(asked)
        await api.http.post("/slack/events", content=signed.body, headers=signed.headers)
        answers = await slack.wait_for("response_url", count=number)

    hers, his = (json.loads(_blocks(a.body)) for a in answers)
    assert not any(block["type"] == "actions" for block in hers)
    assert "you cannot vote on it" in json.dumps(hers)
    assert any(block["type"] == "actions" for block in his)  # an approver keeps the buttons
    assert "*prod*" not in answers[0].body["text"]  # the fallback text styles nothing


async def test_a_step_up_request_is_not_approved_by_a_click_but_denied_by_one(world) -> None:
    runtime, api, slack = world
    created = await api.create(action="s3.export")
    await _drain(runtime)
    (ref,) = await messages.posted(runtime.db, created["id"])
    posted = slack.message(CHANNEL_ID, ref.message_id)
    assert posted is not None
    assert "Approving needs step-up (a passkey or a fresh single sign-on)" in json.dumps(
        posted["blocks"]
    )

    clicked = await _click(api, BOB[0], created["id"], ref.message_id)

    assert clicked.status_code == 200
    (ephemeral,) = await slack.wait_for("chat.postEphemeral")
    said = ephemeral.body["text"]
    assert "needs step-up confirmation" in said
    assert "http://approvals.test/ui/step-up/" in said
    assert "Deny still works here" in said
    await _drain(runtime)
    state = (await api.get("etl", created["id"])).json()
    assert (state["status"], state["votes"]) == ("pending", [])
    assert slack.calls("chat.update") == []

    deny = form(
        block_action(
            user_id=BOB[0],
            action_id=created["id"],
            message_ts=ref.message_id,
            button=DENY_ACTION_ID,
        )
    )
    signed = sign(deny)
    await api.http.post("/slack/events", content=signed.body, headers=signed.headers)
    (opened,) = await slack.wait_for("views.open")
    submitted = sign(form(view_submission(user_id=BOB[0], view=opened.body["view"], reason="no")))
    answer = await api.http.post("/slack/events", content=submitted.body, headers=submitted.headers)
    assert answer.status_code == 200
    await slack.wait_for("chat.update")
    await _drain(runtime)
    state = (await api.get("etl", created["id"])).json()
    assert state["verdict"] == "denied"
    assert [(v["approver"], v["verdict"], v["platform"]) for v in state["votes"]] == [
        (BOB[1], "deny", "slack")
    ]
