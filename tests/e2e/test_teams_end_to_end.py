"""Teams through the real core: intake posts the Adaptive Card, invokes decide, every copy follows.

Only Bot Framework is a double (loopback OpenID metadata + JWKS, token endpoint and connector,
`tests/fakes/teams_connector.py`); botbuilder validates the JWTs and looks up the roster, the
actions service decides on PostgreSQL, and the outbox jobs post and update the cards.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from botframework.connector.auth import JwtTokenExtractor
from sqlalchemy import update

from approvals.actions import messages
from approvals.actions.models import ActionRequest
from approvals.audit import service as audit_service
from approvals.channels.conversations.store import DatabaseConversationStore
from approvals.jobs import reconciler
from approvals.kit.clock import utc_now
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle
from tests.e2e.service_world import running_service
from tests.fakes.teams_connector import FakeTeamsConnector, new_rsa_key
from tests.integration.teams.teams_world import (
    APP_ID,
    APP_PASSWORD,
    CONVERSATION,
    TENANT,
    conversation_update_activity,
    invoke_activity,
)
from tests.policies import dba_oncall_policy

POLICY = dba_oncall_policy("teams, web", rules=[("exports-step-up", "*.export", "true")])
SECOND = "19:escalation-channel@thread.tacv2"
OTHER_TENANT = "99999999-0000-0000-0000-000000000000"
ROSTER = {
    "aad-bob": "bob@example.org",
    "aad-carol": "carol@example.org",
    "aad-alice": "alice@example.org",
    "aad-mallory": "mallory@example.org",
}
# Inline identifiers too, with no cue word or one joined by a hyphen (issue 13).
INLINE = "seen today (MRN-99812345); ref 123456789, callback 6175550142"
PLANTED_PHI = ("Jane Roe", "123-45-6789", "99812345", "123456789", "6175550142")
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
World = tuple[Runtime, ApiClient, FakeTeamsConnector]


@pytest.fixture(scope="module")
def bf() -> Iterator[FakeTeamsConnector]:
    with FakeTeamsConnector(app_id=APP_ID, app_password=APP_PASSWORD, tenant_id=TENANT) as fake:
        for conversation in (CONVERSATION, SECOND):
            for aad, email in ROSTER.items():
                fake.add_member(conversation, aad_object_id=aad, email=email)
        yield fake


@pytest.fixture
async def world(bf: FakeTeamsConnector, postgres_url: str, tmp_path: Path) -> AsyncIterator[World]:
    JwtTokenExtractor.metadataCache.clear()  # class-level cache keyed by URL: start clean
    bf.reset()
    async with running_service(
        postgres_url,
        tmp_path,
        policy=POLICY,
        teams_app_id=APP_ID,
        teams_app_password=APP_PASSWORD,
        teams_app_tenant_id=TENANT,
        teams_app_type="SingleTenant",
        teams_service_url=bf.service_url,
        teams_conversation_id=CONVERSATION,
        teams_openid_metadata_url=bf.openid_metadata_url,
        teams_token_url=bf.token_url,
    ) as (runtime, api):
        yield runtime, api, bf
    JwtTokenExtractor.metadataCache.clear()


def _auth(bf: FakeTeamsConnector, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + bf.mint_token(service_url=bf.service_url, **kwargs)}


def _card_of(activity: dict[str, Any]) -> dict[str, Any]:
    (attachment,) = activity["attachments"]
    assert attachment["contentType"] == CARD_TYPE
    content: dict[str, Any] = attachment["content"]
    return content


def _ref_of(card: dict[str, Any]) -> str:
    """The signed reference on the card's buttons (or its refresh action)."""
    for action in card.get("actions", []):
        if action.get("type") == "Action.Execute":
            return str(action["data"]["ref"])
    return str(card["refresh"]["action"]["data"]["ref"])


def _texts(node: Any) -> str:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") in ("TextRun", "TextBlock") and "text" in value:
                found.append(str(value["text"]))
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(node)
    return " ".join(found)


def _card_posts(bf: FakeTeamsConnector) -> list[Any]:
    """Posts into the review channel (requester notices go to personal chats)."""
    channel = quote(CONVERSATION, safe="")
    return [c for c in bf.connector_calls("POST") if c.path.endswith(f"{channel}/activities")]


def _personal_messages(bf: FakeTeamsConnector, aad: str) -> list[dict[str, Any]]:
    return [
        _card_of(c.body)
        for c in bf.connector_calls("POST")
        if c.path.endswith(f"a%3A1personal-{aad}/activities")
    ]


async def _submit(world: World, **overrides: Any) -> tuple[str, str, str]:
    """Submit with planted PHI; returns (action id, posted activity id, signed card ref)."""
    runtime, api, bf = world
    context = {"patient_name": PLANTED_PHI[0], "ssn": PLANTED_PHI[1], "rows": 12, "note": INLINE}
    overrides.setdefault("justification", f"re-run the import {INLINE}")
    created = await api.create(context=context, **overrides)
    await settle(runtime)
    assert len(_card_posts(bf)) == 1  # one copy of the card, in the review channel
    (ref,) = await messages.posted(runtime.db, created["id"])
    assert (ref.platform, ref.channel_id) == ("teams", CONVERSATION)
    stored = bf.activity(CONVERSATION, ref.message_id)
    assert stored is not None
    return created["id"], ref.message_id, _ref_of(_card_of(stored))


async def _invoke(
    world: World,
    card_ref: str,
    *,
    aad: str,
    verb: str = "approvals.approve",
    conversation_id: str = CONVERSATION,
    tenant: str | None = None,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> httpx.Response:
    _, api, bf = world
    body = invoke_activity(
        bf,
        conversation_id=conversation_id,
        aad_object_id=aad,
        verb=verb,
        data={"ref": card_ref, **fields},
        tenant_id=tenant,
    )
    return await api.http.post(
        "/teams/messages", json=body, headers=headers if headers is not None else _auth(bf)
    )


async def _state(world: World, action_id: str) -> dict[str, Any]:
    _, api, _ = world
    response = await api.get("etl", action_id)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


async def test_card_posted_without_phi_approved_in_teams_and_updated_in_place(world) -> None:
    runtime, _, bf = world
    action_id, activity_id, card_ref = await _submit(world)
    for call in bf.calls:  # token, connector: nothing that left the process carries PHI
        dumped = json.dumps(call.body)
        assert not any(phi in dumped for phi in PLANTED_PHI)
    posted = _card_of(bf.activity(CONVERSATION, activity_id) or {})
    assert posted["version"] == "1.5"
    assert "[NAME-1]" in _texts(posted)  # the redacted preview, not the value
    assert "[SSN-1]" in _texts(posted)
    # The shared copy is read-only; the policy's approvers in the roster get the buttons by
    # refresh (alice is on_behalf_of and mallory is no approver: neither is listed).
    assert "actions" not in posted
    assert sorted(posted["refresh"]["userIds"]) == ["aad-bob", "aad-carol"]

    started = time.perf_counter()
    answer = await _invoke(world, card_ref, aad="aad-bob", comment="looks fine")
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["statusCode"], body["type"]) == (200, CARD_TYPE)
    assert "actions" not in body["value"]  # decided: a read-only card
    assert "bob@example.org" in _texts(body["value"])
    assert "approved" in _texts(body["value"])

    await settle(runtime)
    state = await _state(world, action_id)
    assert state["status"] == "released"  # approved, then the release job minted the token
    # alice (on_behalf_of, in the roster) hears of it in her 1:1 chat with the bot, PHI-free.
    told = [_texts(card) for card in _personal_messages(bf, "aad-alice")]
    assert any("is waiting for review by dba-oncall" in text for text in told)
    assert any("was approved by bob@example.org" in text for text in told)
    assert not any(phi in text for text in told for phi in PLANTED_PHI)
    assert [(v["approver"], v["platform"]) for v in state["votes"]] == [
        ("bob@example.org", "teams")
    ]
    puts = [c for c in bf.connector_calls("PUT") if c.path.endswith(f"/activities/{activity_id}")]
    assert puts, "the posted copy was not updated"
    final = _card_of(bf.activity(CONVERSATION, activity_id) or {})
    assert "actions" not in final
    assert "bob@example.org" in _texts(final)
    assert not any(phi in json.dumps(final) for phi in PLANTED_PHI)
    async with runtime.db() as session:
        kinds = [e.event_type for e in await audit_service.events_for(session, action_id)]
    assert "card_posted" in kinds
    assert "vote" in kinds
    print(f"teams invoke→answer through the core: {elapsed_ms:.1f} ms")  # noqa: T201


async def test_every_copy_is_updated_including_one_in_an_installed_channel(world) -> None:
    runtime, api, bf = world
    install = conversation_update_activity(bf, conversation_id=SECOND)
    installed = await api.http.post("/teams/messages", json=install, headers=_auth(bf))
    assert installed.status_code in (200, 201), installed.text
    learned = await DatabaseConversationStore(runtime.db).all()  # kept across restarts
    assert [ref["conversation"]["id"] for ref in learned] == [SECOND]
    assert "user" not in learned[0]
    action_id, first_id, card_ref = await _submit(world)
    async with runtime.engine.begin() as connection:  # the rule's escalation moment passes
        await connection.execute(
            update(ActionRequest).values(
                escalate_at=utc_now() - timedelta(seconds=1), escalate_to=[f"teams:{SECOND}"]
            )
        )
    await reconciler.tick(runtime, runtime.queue, lease_seconds=60)
    await settle(runtime)
    copies = await messages.posted(runtime.db, action_id)
    assert sorted(c.channel_id for c in copies) == sorted([CONVERSATION, SECOND])

    answer = await _invoke(world, card_ref, aad="aad-carol", conversation_id=SECOND)
    assert answer.status_code == 200, answer.text
    await settle(runtime)
    for copy in copies:
        path = f"/activities/{copy.message_id}"
        updated = [c for c in bf.connector_calls("PUT") if c.path.endswith(path)]
        assert updated, f"copy in {copy.channel_id} was not updated"
        final = _card_of(bf.activity(copy.channel_id, copy.message_id) or {})
        assert "carol@example.org" in _texts(final)
        assert "actions" not in final
    assert first_id in {c.message_id for c in copies}


@pytest.mark.parametrize(
    ("aad", "on_behalf_of", "why"),
    [
        ("aad-carol", "carol@example.org", "you requested this action"),
        ("aad-mallory", "alice@example.org", "you are not in group dba-oncall"),
    ],
    ids=["self-approval", "outsider"],
)
async def test_self_approval_and_outsider_are_refused_with_a_card_saying_why(
    world, aad: str, on_behalf_of: str, why: str
) -> None:
    runtime, _, bf = world
    action_id, _, card_ref = await _submit(world, on_behalf_of=on_behalf_of)
    answer = await _invoke(world, card_ref, aad=aad)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["statusCode"], body["type"]) == (200, CARD_TYPE)
    assert why in _texts(body["value"]).lower()
    await settle(runtime)
    state = await _state(world, action_id)
    assert (state["status"], state["votes"]) == ("pending", [])
    async with runtime.db() as session:
        kinds = [e.event_type for e in await audit_service.events_for(session, action_id)]
    assert kinds.count("refused_vote") == 1
    assert not bf.connector_calls("PUT")


async def test_an_invoke_from_another_tenant_is_refused(world) -> None:
    runtime, _, bf = world
    action_id, _, card_ref = await _submit(world)
    answer = await _invoke(world, card_ref, aad="aad-bob", tenant=OTHER_TENANT)
    assert answer.status_code == 200, answer.text
    assert "another organisation" in _texts(answer.json()["value"])
    assert not bf.member_lookups()  # refused before the roster was asked
    await settle(runtime)
    assert (await _state(world, action_id))["status"] == "pending"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param({"key": new_rsa_key()}, id="forged-signature"),
        pytest.param({"expires_in": -3600}, id="expired"),
        pytest.param({"audience": "someone-else"}, id="wrong-audience"),
    ],
)
async def test_bad_tokens_get_401_and_change_nothing(world, token: dict[str, Any]) -> None:
    runtime, _, bf = world
    action_id, _, card_ref = await _submit(world)
    answer = await _invoke(world, card_ref, aad="aad-bob", headers=_auth(bf, **token))
    assert answer.status_code == 401, answer.text
    await settle(runtime)
    state = await _state(world, action_id)
    assert (state["status"], state["votes"]) == ("pending", [])
    assert not bf.member_lookups()
    assert not bf.connector_calls("PUT")


async def test_a_second_click_of_the_same_vote_is_answered_already_voted(world) -> None:
    runtime, _, _ = world
    action_id, _, card_ref = await _submit(world)
    first = await _invoke(world, card_ref, aad="aad-bob")
    await settle(runtime)
    again = await _invoke(world, card_ref, aad="aad-bob")

    assert (first.status_code, again.status_code) == (200, 200)
    assert "already voted" not in _texts(first.json()["value"])
    shown = _texts(again.json()["value"])
    assert "You already voted approve at " in shown
    assert "it counts once" in shown
    state = await _state(world, action_id)
    assert len(state["votes"]) == 1


async def test_deny_with_reason_is_recorded(world) -> None:
    runtime, _, bf = world
    action_id, activity_id, card_ref = await _submit(world)
    answer = await _invoke(
        world, card_ref, aad="aad-bob", verb="approvals.deny", deny_reason="not during business"
    )
    assert answer.status_code == 200, answer.text
    assert "denied" in _texts(answer.json()["value"])
    await settle(runtime)
    state = await _state(world, action_id)
    assert state["status"] == "rejected"  # denied, then the release job closed it
    [vote] = state["votes"]
    assert (vote["approver"], vote["verdict"], vote["platform"]) == (
        "bob@example.org",
        "deny",
        "teams",
    )
    assert vote["reason"] == "not during business"
    final = _card_of(bf.activity(CONVERSATION, activity_id) or {})
    assert "not during business" in _texts(final)


async def test_a_step_up_request_is_not_approved_by_a_button_but_denied_by_one(world) -> None:
    runtime, _, bf = world
    action_id, activity_id, card_ref = await _submit(world, action="s3.export")
    posted = _card_of(bf.activity(CONVERSATION, activity_id) or {})
    assert "Approving needs step-up (a passkey or a fresh single sign-on)" in _texts(posted)

    answer = await _invoke(world, card_ref, aad="aad-bob")

    assert answer.status_code == 200, answer.text
    said = _texts(answer.json()["value"])
    assert "needs step-up confirmation" in said
    assert "http://approvals.test/ui/step-up/" in said
    await settle(runtime)
    state = await _state(world, action_id)
    assert (state["status"], state["votes"]) == ("pending", [])
    assert not bf.connector_calls("PUT")

    denied = await _invoke(
        world, card_ref, aad="aad-bob", verb="approvals.deny", deny_reason="not this month"
    )
    assert denied.status_code == 200, denied.text
    await settle(runtime)
    state = await _state(world, action_id)
    assert state["verdict"] == "denied"
    assert [(v["verdict"], v["platform"]) for v in state["votes"]] == [("deny", "teams")]
    assert "not this month" in _texts(_card_of(bf.activity(CONVERSATION, activity_id) or {}))
