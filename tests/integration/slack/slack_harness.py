"""Signed Slack requests, interaction payloads as Slack sends them, and an in-memory ReviewPort.

Payload shapes follow Slack's interaction docs and bolt-python's scenario-test fixtures
(block_actions with container/message/response_url/trigger_id; view_submission with
private_metadata); signatures use slack_sdk's real v0 algorithm.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from slack_sdk.signature import SignatureVerifier

from approvals.channels.base import DecisionAttempt, DecisionResult, MessageRef
from approvals.channels.cards import Card, VoteLine
from approvals.channels.slack.blocks import (
    APPROVE_ACTION_ID,
    DENY_CALLBACK_ID,
    REASON_ACTION_ID,
    REASON_BLOCK_ID,
)
from approvals.channels.slack.outbound import SlackChannel
from tests.fakes.slack_api import FakeSlackApi

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the format of Slack's signing secrets
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
TEAM_ID = "T0APPROVALS"
CHANNEL_ID = "C0REVIEWERS"

APPROVER = ("U0ANA", "ana@example.org")
SECOND_APPROVER = ("U0BEN", "ben@example.org")
REQUESTER = ("U0DANA", "dana@example.org")  # the card's on_behalf_of
OUTSIDER = ("U0OLGA", "olga@example.org")
GUEST = ("U0GUS", "gus@partner.example")  # Slack Connect, home team T0PARTNER


class InMemoryReview:
    """A ReviewPort with a real decision rule: requesters cannot decide their own request,
    only listed approvers may vote, once each; final and expired requests refuse votes."""

    def __init__(self, cards: Iterable[Card], approvers: Iterable[str], now: datetime) -> None:
        self.cards = {c.action_id: c for c in cards}
        self.approvers = set(approvers)
        self.now = now
        self.attempts: list[DecisionAttempt] = []

    async def card(self, action_id: str) -> Card | None:
        return self.cards.get(action_id)

    def approvers_of(self, card: Card) -> list[str]:
        voted = {v.approver for v in card.votes}
        return sorted(self.approvers - voted - {card.requester, card.on_behalf_of})

    async def waiting_for(self, email: str, *, limit: int) -> list[Card]:
        waiting = [
            c
            for c in self.cards.values()
            if not c.is_final
            and email in self.approvers
            and email not in (c.requester, c.on_behalf_of)
            and not any(v.approver == email for v in c.votes)
        ]
        return sorted(waiting, key=lambda c: c.expires_at)[:limit]

    async def card_for(self, action_id: str, email: str) -> Card | None:
        card = self.cards.get(action_id)
        if card is None or email not in (*self.approvers, card.requester, card.on_behalf_of):
            return None
        return card

    async def decide(self, attempt: DecisionAttempt) -> DecisionResult:
        self.attempts.append(attempt)
        card = self.cards.get(attempt.action_id)
        who = attempt.approver_email
        if card is None:
            return DecisionResult(False, "This request does not exist.", None)
        if card.is_final:
            return DecisionResult(False, f"This request was already {card.status}.", card)
        if self.now >= card.expires_at:
            return DecisionResult(False, "This request has expired.", card)
        if who in (card.requester, card.on_behalf_of):
            return DecisionResult(False, "You cannot decide on your own request.", card)
        if who not in self.approvers:
            groups = ", ".join(card.approver_groups)
            return DecisionResult(False, f"You are not an approver for {groups}.", card)
        if any(v.approver == who for v in card.votes):
            return DecisionResult(False, "You already voted on this request.", card)
        vote = VoteLine(who, attempt.verdict, attempt.reason, attempt.platform, self.now)
        votes = (*card.votes, vote)
        if attempt.verdict == "deny":
            card = replace(
                card,
                status="denied",
                votes=votes,
                decided_at=self.now,
                decision_reason=attempt.reason,
            )
        else:
            so_far = card.approvals_so_far + 1
            done = so_far >= card.approvals_required
            card = replace(
                card,
                votes=votes,
                approvals_so_far=so_far,
                status="approved" if done else card.status,
                decided_at=self.now if done else None,
            )
        self.cards[card.action_id] = card
        return DecisionResult(True, "Your vote was recorded.", card)


@dataclass(frozen=True)
class Signed:
    body: str
    headers: dict[str, str]


def sign(
    body: str,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    secret: str = SIGNING_SECRET,
    age: timedelta = timedelta(0),
    retry_num: int | None = None,
) -> Signed:
    timestamp = str(int(time.time() - age.total_seconds()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    headers = {
        "content-type": content_type,
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }
    if retry_num is not None:
        headers["x-slack-retry-num"] = str(retry_num)
        headers["x-slack-retry-reason"] = "http_timeout"
    return Signed(body, headers)


def form(payload: dict[str, Any]) -> str:
    return f"payload={quote(json.dumps(payload))}"


def slack_user(user_id: str, team_id: str = TEAM_ID) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def block_action(
    *,
    user_id: str,
    action_id: str,
    button: str = APPROVE_ACTION_ID,
    message_ts: str,
    message_blocks: list[dict[str, Any]] | None = None,
    user_team_id: str = TEAM_ID,
    channel_id: str = CHANNEL_ID,
) -> dict[str, Any]:
    """A button click on a card message, as Slack posts it to the interactivity URL."""
    label = "Approve" if button == APPROVE_ACTION_ID else "Deny"
    return {
        "type": "block_actions",
        "user": slack_user(user_id, user_team_id),
        "api_app_id": "A0APPROVALS",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(time.time())}.12345.{user_id.lower()}abcdef",
        "team": {"id": user_team_id, "domain": "approvals-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "reviewers"},
        "message": {
            "type": "message",
            "subtype": "bot_message",
            "text": "Approval needed",
            "ts": message_ts,
            "bot_id": "B0APPBOT",
            "blocks": message_blocks or [],
        },
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{TEAM_ID}/1111/abcdefgh",
        "actions": [
            {
                "action_id": button,
                "block_id": "approvals.decision",
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "value": action_id,
                "style": "primary" if button == APPROVE_ACTION_ID else "danger",
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def view_submission(
    *, user_id: str, view: dict[str, Any], reason: str, user_team_id: str = TEAM_ID
) -> dict[str, Any]:
    """The submitted deny modal: Slack echoes our view back with state and private_metadata."""
    return {
        "type": "view_submission",
        "team": {"id": user_team_id, "domain": "approvals-test"},
        "user": slack_user(user_id, user_team_id),
        "api_app_id": "A0APPROVALS",
        "token": "legacy-verification-token",
        "trigger_id": f"{int(time.time())}.12345.submitabcdef",
        "view": {
            "id": "V0DENYMODAL",
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": view["blocks"],
            "private_metadata": view["private_metadata"],
            "callback_id": DENY_CALLBACK_ID,
            "state": {
                "values": {
                    REASON_BLOCK_ID: {
                        REASON_ACTION_ID: {"type": "plain_text_input", "value": reason}
                    }
                }
            },
            "hash": "1700000000.CmTS8F7U",
            "title": view["title"],
            "close": view["close"],
            "submit": view["submit"],
            "previous_view_id": None,
            "root_view_id": "V0DENYMODAL",
            "app_id": "A0APPROVALS",
            "external_id": "",
            "app_installed_team_id": TEAM_ID,
            "bot_id": "B0APPBOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


@dataclass
class Slack:
    """One Slack app behind FastAPI, its loopback Web API and the in-memory core."""

    fake: FakeSlackApi
    review: InMemoryReview
    http: httpx.AsyncClient
    channel: SlackChannel

    async def show(self, card: Card) -> MessageRef:
        self.review.cards[card.action_id] = card
        (ref,) = await self.channel.post(card, [CHANNEL_ID])
        return ref

    async def click(
        self,
        user_id: str,
        ref: MessageRef,
        *,
        button: str = APPROVE_ACTION_ID,
        retry_num: int | None = None,
        user_team_id: str = TEAM_ID,
        action_id: str = "act_01HXAMPLE",
    ) -> httpx.Response:
        payload = block_action(
            user_id=user_id,
            action_id=action_id,
            button=button,
            message_ts=ref.message_id,
            user_team_id=user_team_id,
            channel_id=ref.channel_id,
        )
        return await self.send(form(payload), retry_num=retry_num)

    async def send(
        self, body: str, *, retry_num: int | None = None, **kwargs: object
    ) -> httpx.Response:
        signed = sign(body, retry_num=retry_num, **kwargs)  # type: ignore[arg-type]
        return await self.http.post("/slack/events", content=signed.body, headers=signed.headers)

    def card_in_slack(self, ref: MessageRef) -> dict[str, Any]:
        message = self.fake.message(ref.channel_id, ref.message_id)
        assert message is not None
        return message


def has_buttons(message: dict[str, Any]) -> bool:
    return any(b["type"] == "actions" for b in message["blocks"])


def message_text(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"])


def visible(body: dict[str, object]) -> dict[str, object]:
    """Where, to whom and what an ephemeral says (bolt's client also adds `team_id`)."""
    return {k: body[k] for k in ("channel", "user", "text")}


async def settle() -> None:
    """Let listeners that already acked finish, so 'nothing else happened' is meaningful."""
    await asyncio.sleep(0.3)
