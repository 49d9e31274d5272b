"""Shared constants, the review double, and Teams activity payloads for the integration tests.

Payload shapes follow what Teams sends (Bot Framework activity schema, Teams channelData with
`tenant`/`team`/`channel`, Universal Actions `value.action` with `verb` and `data`)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

from approvals.channels.base import DecisionAttempt, DecisionResult
from approvals.channels.cards import Card, VoteLine
from tests.fakes.teams_connector import FakeTeamsConnector

Json = dict[str, Any]

APP_ID = "00000000-0000-0000-0000-00000000a99"
APP_PASSWORD = "test-app-password"
TENANT = "11111111-2222-3333-4444-555555555555"
CONVERSATION = "19:review-channel@thread.tacv2"
ACTION_ID = "act_01HZX3"
APPROVERS = {"dba@example.org": "aad-dba", "privacy@example.org": "aad-privacy"}


class ReviewDouble:
    """An in-memory ReviewPort with the core's rules: approvers only, no self-approval,
    one vote per approver, a quorum, a deny (with reason) ends it, final cards are closed."""

    def __init__(self, cards: list[Card], approvers: set[str]) -> None:
        self.cards = {c.action_id: c for c in cards}
        self.approvers = approvers
        self.attempts: list[DecisionAttempt] = []

    async def card(self, action_id: str) -> Card | None:
        return self.cards.get(action_id)

    def approvers_of(self, card: Card) -> list[str]:
        voted = {v.approver for v in card.votes}
        parties = {card.requester, card.on_behalf_of}
        return sorted(a for a in self.approvers if a not in voted | parties)

    async def waiting_for(self, email: str, *, limit: int) -> list[Card]:
        open_ = [c for c in self.cards.values() if not c.is_final and email in self.approvers_of(c)]
        return sorted(open_, key=lambda c: c.expires_at)[:limit]

    async def card_for(self, action_id: str, email: str) -> Card | None:
        return self.cards.get(action_id)

    async def decide(self, attempt: DecisionAttempt) -> DecisionResult:
        self.attempts.append(attempt)
        card = self.cards.get(attempt.action_id)
        if card is None:
            return DecisionResult(False, "No such request.", None)
        if card.is_final:
            return DecisionResult(False, f"This request is already {card.status}.", card)
        if attempt.approver_email in (card.requester, card.on_behalf_of):
            return DecisionResult(False, "You cannot approve your own request.", card)
        if attempt.approver_email not in self.approvers:
            return DecisionResult(False, "You are not an approver for this request.", card)
        if any(v.approver == attempt.approver_email for v in card.votes):
            return DecisionResult(False, "You have already voted.", card)
        now = datetime.now(UTC)
        votes = (
            *card.votes,
            VoteLine(
                attempt.approver_email, attempt.verdict, attempt.reason, attempt.platform, now
            ),
        )
        if attempt.verdict == "deny":
            card = dataclasses.replace(
                card, votes=votes, status="denied", decided_at=now, decision_reason=attempt.reason
            )
        else:
            count = card.approvals_so_far + 1
            final = count >= card.approvals_required
            card = dataclasses.replace(
                card,
                votes=votes,
                approvals_so_far=count,
                status="approved" if final else card.status,
                decided_at=now if final else None,
            )
        self.cards[card.action_id] = card
        return DecisionResult(True, f"Recorded: {attempt.verdict}.", card)


def bearer(bf: FakeTeamsConnector, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + bf.mint_token(service_url=bf.service_url, **kwargs)}


# -- activity payloads, shaped like what Teams sends (see Teams bot and Universal Actions docs) --
def _teams_envelope(fake: FakeTeamsConnector, conversation_id: str, tenant_id: str) -> Json:
    return {
        "timestamp": datetime.now(UTC).isoformat(),
        "localTimestamp": datetime.now(UTC).isoformat(),
        "id": f"f:{uuid.uuid4().int % 10**19}",
        "channelId": "msteams",
        "serviceUrl": fake.service_url,
        "recipient": {"id": f"28:{fake.app_id}", "name": "Approvals"},
        "conversation": {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": tenant_id,
            "id": conversation_id,
        },
        "channelData": {
            "tenant": {"id": tenant_id},
            "team": {"id": "19:team@thread.tacv2"},
            "channel": {"id": conversation_id},
        },
        "locale": "en-US",
        "entities": [
            {
                "type": "clientInfo",
                "locale": "en-US",
                "country": "US",
                "platform": "Web",
                "timezone": "America/New_York",
            }
        ],
    }


def invoke_activity(
    fake: FakeTeamsConnector,
    *,
    conversation_id: str,
    aad_object_id: str,
    verb: str,
    data: Json,
    reply_to_id: str = "1700000000001",
    tenant_id: str | None = None,
) -> Json:
    """An `adaptiveCard/action` invoke from a click on an `Action.Execute` button."""
    tenant = tenant_id or fake.tenant_id
    activity = _teams_envelope(fake, conversation_id, tenant)
    activity.update(
        {
            "type": "invoke",
            "name": "adaptiveCard/action",
            "replyToId": reply_to_id,
            "from": {
                "id": f"29:1{aad_object_id}",
                "name": "Reviewer",
                "aadObjectId": aad_object_id,
            },
            "value": {
                "action": {
                    "type": "Action.Execute",
                    "title": verb.split(".")[-1].title(),
                    "verb": verb,
                    "data": data,
                },
                "trigger": "manual",
            },
        }
    )
    activity["channelData"]["source"] = {"name": "message"}
    activity["channelData"]["legacy"] = {"replyToId": reply_to_id}
    return activity


def conversation_update_activity(
    fake: FakeTeamsConnector, *, conversation_id: str, tenant_id: str | None = None
) -> Json:
    """What Teams sends when the bot is added to a team (the bot is in `membersAdded`)."""
    tenant = tenant_id or fake.tenant_id
    activity = _teams_envelope(fake, conversation_id, tenant)
    activity.update(
        {
            "type": "conversationUpdate",
            "from": {"id": "29:1installer", "aadObjectId": "installer-aad"},
            "membersAdded": [{"id": f"28:{fake.app_id}"}],
        }
    )
    activity["channelData"]["eventType"] = "teamMemberAdded"
    return activity


def message_activity(
    fake: FakeTeamsConnector,
    *,
    text: str,
    aad_object_id: str,
    personal: bool = True,
    tenant_id: str | None = None,
) -> Json:
    """A person writing to the bot: in their 1:1 chat, or in a channel (mentioning the bot)."""
    tenant = tenant_id or fake.tenant_id
    conversation = f"a:1personal-{aad_object_id}" if personal else CONVERSATION
    activity = _teams_envelope(fake, conversation, tenant)
    if personal:
        activity["conversation"] = {
            "conversationType": "personal",
            "tenantId": tenant,
            "id": conversation,
        }
        activity["channelData"] = {"tenant": {"id": tenant}}
    activity.update(
        {
            "type": "message",
            "text": text,
            "textFormat": "plain",
            "from": {
                "id": f"29:1{aad_object_id}",
                "name": "Reviewer",
                "aadObjectId": aad_object_id,
            },
        }
    )
    return activity
