"""`/approvals` and the App Home tab through real bolt: who sees what, and deciding from Home.

Signed exactly as Slack signs; `respond()` goes to the double's response_url and
`views.publish` to its Web API. The core is the in-memory ReviewPort of the harness.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

from approvals.channels.slack.blocks import DENY_ACTION_ID
from tests.integration.slack.home_payloads import app_home_opened, home_click, slash_command
from tests.integration.slack.slack_harness import (
    APPROVER,
    GUEST,
    OUTSIDER,
    REQUESTER,
    SECOND_APPROVER,
    form,
    settle,
    sign,
)
from tests.unit.slack.slack_cards import NOW, make_card, vote

SOON, LATER, DONE = "act_01SOON", "act_02LATER", "act_03DONE"


def _cards() -> list:
    return [
        make_card(action_id=LATER, expires_at=NOW + timedelta(hours=5), resource="db.later"),
        make_card(action_id=SOON, expires_at=NOW + timedelta(minutes=5), resource="db.soon"),
        make_card(action_id=DONE, status="approved", votes=(vote(SECOND_APPROVER[1]),)),
    ]


async def _command(slack, user_id: str, text: str):
    body = slash_command(user_id=user_id, text=text, response_url=slack.fake.response_url())
    started = time.monotonic()
    response = await slack.send(body)
    assert response.status_code == 200
    assert time.monotonic() - started < 3  # acked within Slack's 3 seconds
    (answer,) = await slack.fake.wait_for("response_url")
    assert answer.body["response_type"] == "ephemeral"  # only the person who typed it sees it
    return answer.body


def _ids_with_buttons(blocks: list[dict]) -> list[str]:
    return [b["elements"][0]["value"] for b in blocks if b["type"] == "actions"]


class TestSlashCommand:
    async def test_pending_lists_what_the_approver_can_decide_soonest_first(self, slack):
        for card in _cards():
            slack.review.cards[card.action_id] = card

        answer = await _command(slack, APPROVER[0], "")

        assert _ids_with_buttons(answer["blocks"]) == [SOON, LATER]
        assert "2 requests, the soonest to expire first" in json.dumps(answer["blocks"])

    async def test_the_requester_has_nothing_to_decide_but_can_see_their_card(self, slack):
        for card in _cards():
            slack.review.cards[card.action_id] = card

        pending = await _command(slack, REQUESTER[0], "pending")
        assert "Nothing is waiting for your decision" in json.dumps(pending["blocks"])

        slack.fake.reset()
        shown = await _command(slack, REQUESTER[0], f"show {SOON}")
        assert shown["blocks"][0]["type"] == "header"
        assert "db.soon" in json.dumps(shown["blocks"])

    async def test_show_hides_requests_the_viewer_has_no_part_in(self, slack):
        for card in _cards():
            slack.review.cards[card.action_id] = card

        answer = await _command(slack, OUTSIDER[0], f"show {SOON}")

        assert answer["text"] == f"No request {SOON} that you asked for or review."
        assert "db.soon" not in json.dumps(answer)

    async def test_an_unknown_subcommand_answers_with_the_usage(self, slack):
        answer = await _command(slack, APPROVER[0], "approve everything")
        assert answer["text"].startswith("`/approvals approve everything` is not a command.")
        assert "/approvals show ID" in answer["text"]

    async def test_a_guest_from_another_workspace_is_refused(self, slack):
        for card in _cards():
            slack.review.cards[card.action_id] = card

        answer = await _command(slack, GUEST[0], "pending")

        assert "other workspaces (Slack Connect)" in answer["text"]
        assert SOON not in json.dumps(answer)

    async def test_a_forged_command_is_rejected_and_nothing_answers(self, slack):
        body = slash_command(user_id=APPROVER[0], text="", response_url=slack.fake.response_url())
        forged = sign(body, secret="not-the-signing-secret")
        response = await slack.http.post(
            "/slack/events", content=forged.body, headers=forged.headers
        )
        assert response.status_code == 401
        assert slack.fake.calls("response_url") == []


class TestAppHome:
    async def _open(self, slack, user_id: str) -> dict:
        signed = sign(app_home_opened(user_id=user_id), content_type="application/json")
        response = await slack.http.post(
            "/slack/events", content=signed.body, headers=signed.headers
        )
        assert response.status_code == 200
        calls = await slack.fake.wait_for("views.publish")
        return calls[-1].body

    async def test_opening_home_publishes_the_viewers_queue(self, slack):
        for card in _cards():
            slack.review.cards[card.action_id] = card

        published = await self._open(slack, APPROVER[0])

        assert published["user_id"] == APPROVER[0]
        view = slack.fake.home_views[APPROVER[0]]
        assert view["blocks"][0]["text"]["text"] == "Waiting for you"
        assert _ids_with_buttons(view["blocks"]) == [SOON, LATER]

    async def test_approving_from_home_records_the_vote_and_refreshes_the_tab(self, slack):
        for card in _cards():
            slack.review.cards[card.action_id] = card
        await self._open(slack, APPROVER[0])

        response = await slack.send(form(home_click(user_id=APPROVER[0], action_id=SOON)))

        assert response.status_code == 200
        await slack.fake.wait_for("views.publish", count=2)
        assert slack.review.cards[SOON].status == "approved"
        assert [a.approver_email for a in slack.review.attempts] == [APPROVER[1]]
        assert _ids_with_buttons(slack.fake.home_views[APPROVER[0]]["blocks"]) == [LATER]
        assert slack.fake.calls("chat.update") == []  # no message to update: it was the tab

    async def test_deny_from_home_opens_the_reason_modal_that_remembers_home(self, slack):
        slack.review.cards[SOON] = _cards()[1]

        click = home_click(user_id=APPROVER[0], action_id=SOON, button=DENY_ACTION_ID)
        await slack.send(form(click))

        (opened,) = await slack.fake.wait_for("views.open")
        view = opened.body["view"]
        view = json.loads(view) if isinstance(view, str) else view
        assert json.loads(view["private_metadata"]) == {
            "action_id": SOON,
            "channel_id": None,
            "message_ts": None,
            "from_home": True,
        }

    async def test_the_messages_tab_publishes_nothing(self, slack):
        signed = sign(
            app_home_opened(user_id=APPROVER[0], tab="messages"), content_type="application/json"
        )
        response = await slack.http.post(
            "/slack/events", content=signed.body, headers=signed.headers
        )
        assert response.status_code == 200
        await settle()
        assert slack.fake.calls("views.publish") == []
