"""POST /slack/events refuses what Slack did not sign, and answers Slack's own checks.

Real bolt, real slack_sdk AsyncWebClient, real HTTP to the loopback double; only the core is
replaced by an in-memory ReviewPort with a real decision rule (tests/integration/slack/conftest.py).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from tests.integration.slack.slack_harness import APPROVER, block_action, form, settle, sign
from tests.unit.slack.slack_cards import make_card


class TestRequestVerification:
    async def test_url_verification_is_answered_by_bolt(self, slack):
        body = json.dumps(
            {
                "token": "legacy",
                "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                "type": "url_verification",
            }
        )
        response = await slack.send(body, content_type="application/json")

        assert response.status_code == 200
        assert response.json() == {
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        }

    async def test_forged_signature_is_401_and_changes_nothing(self, slack):
        ref = await slack.show(make_card())
        payload = form(
            block_action(user_id=APPROVER[0], action_id="act_01HXAMPLE", message_ts=ref.message_id)
        )
        forged = sign(payload, secret="not-the-signing-secret")

        response = await slack.http.post(
            "/slack/events", content=forged.body, headers=forged.headers
        )

        assert response.status_code == 401
        assert response.json()["error"] == "invalid_signature"
        await settle()
        assert slack.review.attempts == []
        assert [c.method for c in slack.fake.calls()] == ["chat.postMessage"]

    async def test_forged_request_body_is_never_logged(self, slack, caplog):
        caplog.set_level(logging.DEBUG)
        marker = "MRN-PLANTED-0042"
        payload = block_action(user_id=APPROVER[0], action_id=marker, message_ts="1.000001")
        forged = sign(form(payload), secret="not-the-signing-secret")

        response = await slack.http.post(
            "/slack/events", content=forged.body, headers=forged.headers
        )

        assert response.status_code == 401
        assert marker not in caplog.text

    async def test_missing_signature_is_401(self, slack):
        response = await slack.http.post(
            "/slack/events",
            content=form({"type": "block_actions"}),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )

        assert response.status_code == 401
        assert response.json()["error"] == "invalid_signature"

    async def test_stale_timestamp_is_401_even_when_correctly_signed(self, slack):
        ref = await slack.show(make_card())
        payload = form(
            block_action(user_id=APPROVER[0], action_id="act_01HXAMPLE", message_ts=ref.message_id)
        )

        response = await slack.send(payload, age=timedelta(minutes=5, seconds=30))

        assert response.status_code == 401
        await settle()
        assert slack.review.attempts == []
