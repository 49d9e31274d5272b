"""Decisions through signed Slack interactions: approve, deny, refusals, duplicates.

Real bolt, real slack_sdk AsyncWebClient, real HTTP to the loopback double; only the core is
replaced by an in-memory ReviewPort with a real decision rule (tests/integration/slack/conftest.py).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from approvals.channels.slack.blocks import DENY_ACTION_ID, DENY_CALLBACK_ID
from tests.integration.slack.slack_harness import (
    APPROVER,
    CHANNEL_ID,
    GUEST,
    OUTSIDER,
    REQUESTER,
    TEAM_ID,
    form,
    has_buttons,
    message_text,
    settle,
    view_submission,
    visible,
)
from tests.unit.slack.slack_cards import NOW, make_card


class TestApprove:
    async def test_approval_is_recorded_as_the_clicking_users_email_and_card_updated(self, slack):
        ref = await slack.show(make_card())
        started = time.monotonic()

        response = await slack.click(APPROVER[0], ref)

        assert response.status_code == 200
        assert time.monotonic() - started < 3  # Slack's acknowledgement deadline
        (update,) = await slack.fake.wait_for("chat.update")
        assert update.at - started < 3
        (lookup,) = slack.fake.calls("users.info")
        assert lookup.body["user"] == APPROVER[0]
        (attempt,) = slack.review.attempts
        assert (attempt.approver_email, attempt.verdict, attempt.platform) == (
            "ana@example.org",
            "approve",
            "slack",
        )
        assert (update.body["channel"], update.body["ts"]) == (ref.channel_id, ref.message_id)
        card = slack.card_in_slack(ref)
        assert not has_buttons(card)
        assert "Approved" in message_text(card)
        assert "ana@example.org" in message_text(card)

    async def test_the_profile_email_is_resolved_to_the_one_identity_spelling(self, slack):
        slack.fake.add_user(APPROVER[0], "\u200bAna@EXAMPLE.org")
        ref = await slack.show(make_card())

        await slack.click(APPROVER[0], ref)

        await slack.fake.wait_for("chat.update")
        (attempt,) = slack.review.attempts
        assert attempt.approver_email == "ana@example.org"

    async def test_a_profile_email_that_is_no_identity_cannot_decide(self, slack):
        slack.fake.add_user("U0ODD", "ana smith@example.org")
        ref = await slack.show(make_card())

        await slack.click("U0ODD", ref)

        (ephemeral,) = await slack.fake.wait_for("chat.postEphemeral")
        assert "no email address" in ephemeral.body["text"]
        assert slack.review.attempts == []

    async def test_first_of_two_votes_keeps_the_buttons_and_shows_progress(self, slack):
        ref = await slack.show(make_card(approvals_required=2))

        await slack.click(APPROVER[0], ref)

        await slack.fake.wait_for("chat.update")
        card = slack.card_in_slack(ref)
        assert has_buttons(card)
        assert "1 of 2 from dba-oncall" in message_text(card)

    async def test_users_info_is_cached_per_app(self, slack):
        ref = await slack.show(make_card(approvals_required=3))
        other = await slack.show(make_card(action_id="act_02", approvals_required=3))

        await slack.click(APPROVER[0], ref)
        await slack.fake.wait_for("chat.update")
        await slack.click(APPROVER[0], other, action_id="act_02")
        await slack.fake.wait_for("chat.update", 2)

        assert len(slack.fake.calls("users.info")) == 1

    async def test_rate_limited_card_update_is_retried_after_retry_after(self, slack):
        ref = await slack.show(make_card())
        slack.fake.fail_next("chat.update", status=429, retry_after=1)

        await slack.click(APPROVER[0], ref)

        limited, retried = await slack.fake.wait_for("chat.update", 2, timeout=6)
        assert limited.status == 429
        assert retried.status == 200
        assert retried.at - limited.at >= 1.0
        assert not has_buttons(slack.card_in_slack(ref))


class TestRefusals:
    @pytest.mark.parametrize(
        ("user", "why"),
        [
            (REQUESTER, "You cannot decide on your own request."),
            (OUTSIDER, "You are not an approver for dba-oncall."),
        ],
    )
    async def test_refusal_is_an_ephemeral_message_and_the_card_is_unchanged(
        self, slack, user, why
    ):
        ref = await slack.show(make_card())
        before = slack.card_in_slack(ref)

        response = await slack.click(user[0], ref)

        assert response.status_code == 200
        (ephemeral,) = await slack.fake.wait_for("chat.postEphemeral")
        assert visible(ephemeral.body) == {"channel": CHANNEL_ID, "user": user[0], "text": why}
        await settle()
        assert slack.fake.calls("chat.update") == []
        assert slack.card_in_slack(ref) == before
        assert slack.review.cards["act_01HXAMPLE"].status == "pending"

    async def test_expired_request_is_refused(self, slack):
        ref = await slack.show(make_card(expires_at=NOW - timedelta(minutes=1)))

        await slack.click(APPROVER[0], ref)

        (ephemeral,) = await slack.fake.wait_for("chat.postEphemeral")
        assert ephemeral.body["text"] == "This request has expired."

    async def test_slack_connect_user_is_refused_before_the_core_is_asked(self, slack):
        ref = await slack.show(make_card())

        await slack.click(GUEST[0], ref, user_team_id="T0PARTNER")

        (ephemeral,) = await slack.fake.wait_for("chat.postEphemeral")
        assert "other workspaces (Slack Connect)" in ephemeral.body["text"]
        assert ephemeral.body["user"] == GUEST[0]
        assert slack.review.attempts == []

    async def test_user_whose_home_team_differs_in_users_info_is_refused(self, slack):
        ref = await slack.show(make_card())

        # The payload claims our team; the directory says otherwise: the directory wins.
        await slack.click(GUEST[0], ref, user_team_id=TEAM_ID)

        (ephemeral,) = await slack.fake.wait_for("chat.postEphemeral")
        assert "Slack Connect" in ephemeral.body["text"]
        assert slack.review.attempts == []

    async def test_user_without_email_is_refused(self, slack):
        slack.fake.add_user("U0NOMAIL", None)
        ref = await slack.show(make_card())

        await slack.click("U0NOMAIL", ref)

        (ephemeral,) = await slack.fake.wait_for("chat.postEphemeral")
        assert "no email address" in ephemeral.body["text"]
        assert slack.review.attempts == []


class TestDuplicates:
    async def test_redelivered_click_reaches_the_core_but_counts_once(self, slack):
        ref = await slack.show(make_card())
        await slack.click(APPROVER[0], ref)
        await slack.fake.wait_for("chat.update")

        response = await slack.click(APPROVER[0], ref, retry_num=1)

        assert response.status_code == 200
        (ephemeral,) = await slack.fake.wait_for("chat.postEphemeral")
        assert ephemeral.body["text"] == "This request was already approved."
        await settle()
        assert len(slack.review.attempts) == 2
        assert len(slack.fake.calls("chat.update")) == 1
        assert slack.review.cards["act_01HXAMPLE"].approvals_so_far == 1

    async def test_double_click_records_one_vote(self, slack):
        ref = await slack.show(make_card(approvals_required=2))

        await asyncio.gather(slack.click(APPROVER[0], ref), slack.click(APPROVER[0], ref))

        await slack.fake.wait_for("chat.update")
        (ephemeral,) = await slack.fake.wait_for("chat.postEphemeral")
        assert ephemeral.body["text"] == "You already voted on this request."
        await settle()
        assert slack.review.cards["act_01HXAMPLE"].approvals_so_far == 1
        assert len(slack.fake.calls("chat.update")) == 1


class TestDeny:
    async def test_deny_opens_a_modal_and_the_reason_is_recorded_and_shown(self, slack):
        ref = await slack.show(make_card())

        response = await slack.click(APPROVER[0], ref, button=DENY_ACTION_ID)

        assert response.status_code == 200
        (opened,) = await slack.fake.wait_for("views.open")
        assert opened.body["trigger_id"].endswith("u0anaabcdef")
        view = opened.body["view"]
        assert view["callback_id"] == DENY_CALLBACK_ID
        assert slack.review.attempts == []  # nothing is decided before the reason

        submission = view_submission(user_id=APPROVER[0], view=view, reason="Wrong database.")
        response = await slack.send(form(submission))

        assert response.status_code == 200
        assert response.content == b""  # empty ack closes the modal
        (_update,) = await slack.fake.wait_for("chat.update")
        (attempt,) = slack.review.attempts
        assert (attempt.verdict, attempt.reason, attempt.approver_email) == (
            "deny",
            "Wrong database.",
            "ana@example.org",
        )
        card = slack.card_in_slack(ref)
        assert not has_buttons(card)
        assert "Denied" in message_text(card)
        assert "Wrong database." in message_text(card)

    async def test_slack_connect_user_gets_no_modal(self, slack):
        ref = await slack.show(make_card())

        await slack.click(GUEST[0], ref, button=DENY_ACTION_ID, user_team_id="T0PARTNER")

        (ephemeral,) = await slack.fake.wait_for("chat.postEphemeral")
        assert "Slack Connect" in ephemeral.body["text"]
        assert slack.fake.calls("views.open") == []

    async def test_blank_reason_is_sent_back_to_the_modal(self, slack):
        ref = await slack.show(make_card())
        await slack.click(APPROVER[0], ref, button=DENY_ACTION_ID)
        (opened,) = await slack.fake.wait_for("views.open")

        submission = view_submission(user_id=APPROVER[0], view=opened.body["view"], reason="   ")
        response = await slack.send(form(submission))

        assert response.status_code == 200
        assert response.json() == {
            "response_action": "errors",
            "errors": {"approvals.reason": "Please give a reason."},
        }
        assert slack.review.attempts == []

    async def test_refused_denial_is_ephemeral_in_the_cards_channel(self, slack):
        ref = await slack.show(make_card())
        await slack.click(OUTSIDER[0], ref, button=DENY_ACTION_ID)
        (opened,) = await slack.fake.wait_for("views.open")

        submission = view_submission(user_id=OUTSIDER[0], view=opened.body["view"], reason="no")
        await slack.send(form(submission))

        (ephemeral,) = await slack.fake.wait_for("chat.postEphemeral")
        assert visible(ephemeral.body) == {
            "channel": CHANNEL_ID,
            "user": OUTSIDER[0],
            "text": "You are not an approver for dba-oncall.",
        }
        assert slack.review.cards["act_01HXAMPLE"].status == "pending"
