"""Proactive posting and in-place updates against the fake connector; installation references;
start-up refusals; and the whole loop: post, two approvals, every copy updated."""

from __future__ import annotations

import dataclasses

import pytest
from msrest.exceptions import ClientRequestError

from approvals.channels.base import MessageRef
from approvals.channels.teams.adapter import TeamsConfigurationError
from approvals.channels.teams.app import build_teams_app
from approvals.channels.teams.settings import TeamsSettings
from approvals.channels.teams.store import InMemoryConversationStore
from tests.integration.teams.teams_world import (
    ACTION_ID,
    APP_ID,
    CONVERSATION,
    TENANT,
    bearer,
    conversation_update_activity,
    invoke_activity,
)


def card_of(activity_body):
    [attachment] = activity_body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


async def test_post_goes_to_the_default_conversation_with_a_fake_issued_token(teams, bf, review):
    card = await review.card(ACTION_ID)
    [ref] = await teams.channel.post(card, [])
    assert ref.platform == "teams"
    assert ref.channel_id == CONVERSATION
    assert ref.service_url == bf.service_url
    assert ref.message_id
    [call] = bf.connector_calls("POST")
    assert call.status == 201
    assert call.headers["authorization"].removeprefix("Bearer ") in bf.issued_tokens
    token_calls = [c for c in bf.calls if c.path.endswith("/oauth2/v2.0/token")]
    assert token_calls[-1].body["client_id"] == APP_ID
    assert token_calls[-1].body["scope"] == "https://api.botframework.com/.default"
    content = card_of(call.body)
    assert content["refresh"]["userIds"] == ["aad-dba", "aad-privacy"]
    assert "actions" not in content  # shared copy is read-only; approvers refresh into buttons
    assert call.body["conversation"]["id"] == CONVERSATION
    assert not call.body.get("replyToId")


async def test_update_replaces_the_posted_activity_and_is_idempotent(teams, bf, review):
    card = await review.card(ACTION_ID)
    [ref] = await teams.channel.post(card, [])
    done = dataclasses.replace(card, status="cancelled")
    await teams.channel.update([ref], done)
    await teams.channel.update([ref], done)
    puts = bf.connector_calls("PUT")
    assert len(puts) == 2
    assert all(p.status == 200 for p in puts)
    assert "Status: cancelled" in str(card_of(puts[-1].body))
    assert puts[0].path.endswith(f"/activities/{ref.message_id}")
    assert bf.activity(CONVERSATION, ref.message_id) == puts[-1].body


async def test_a_copy_that_is_gone_is_skipped_without_an_error(teams, bf, review):
    card = await review.card(ACTION_ID)
    [live] = await teams.channel.post(card, [])
    missing = MessageRef("teams", CONVERSATION, "no-such-activity", bf.service_url)

    await teams.channel.update([missing, live], card)  # 404 for one copy: nothing to retry

    assert [c.status for c in bf.connector_calls("PUT")] == [404, 200]


async def test_a_transient_failure_is_raised_after_every_other_copy_was_updated(teams, bf, review):
    card = await review.card(ACTION_ID)
    [down] = await teams.channel.post(card, [])
    [live] = await teams.channel.post(card, [])
    bf.break_activity(down.message_id, 503)  # stays down past msrest's own retries
    done = dataclasses.replace(card, status="cancelled")

    with pytest.raises(ClientRequestError, match="503"):
        await teams.channel.update([down, live], done)

    assert "Status: cancelled" in str(card_of(bf.activity(CONVERSATION, live.message_id)))
    bf.break_activity(down.message_id, None)
    await teams.channel.update([down, live], done)  # the card job's retry
    assert "Status: cancelled" in str(card_of(bf.activity(CONVERSATION, down.message_id)))


async def test_conversation_update_stores_a_reference_used_for_posting(
    client, bf, store, teams, review
):
    team_channel = "19:ops-team@thread.tacv2"
    body = conversation_update_activity(bf, conversation_id=team_channel)
    response = await client.post("/teams/messages", json=body, headers=bearer(bf))
    assert response.status_code == 200
    [ref] = await store.all()
    assert ref["conversation"]["id"] == team_channel
    assert ref["serviceUrl"] == bf.service_url
    assert ref["tenantId"] == TENANT
    assert "user" not in ref
    [posted] = await teams.channel.post(await review.card(ACTION_ID), [team_channel])
    assert posted.channel_id == team_channel


async def test_installation_update_from_another_tenant_is_ignored(client, bf, store):
    body = conversation_update_activity(
        bf, conversation_id="19:x@thread.tacv2", tenant_id="99999999-0000-0000-0000-000000000000"
    )
    body.update(type="installationUpdate", action="add")
    body.pop("membersAdded")
    response = await client.post("/teams/messages", json=body, headers=bearer(bf))
    assert response.status_code == 200
    assert await store.all() == []
    body = conversation_update_activity(bf, conversation_id="19:y@thread.tacv2")
    body.update(type="installationUpdate", action="add")
    await client.post("/teams/messages", json=body, headers=bearer(bf))
    assert [r["conversation"]["id"] for r in await store.all()] == ["19:y@thread.tacv2"]


def test_refuses_to_start_without_app_id_outside_development(review):
    with pytest.raises(TeamsConfigurationError, match="MicrosoftAppId is empty"):
        build_teams_app(TeamsSettings(development=False), review, InMemoryConversationStore())
    with pytest.raises(TeamsConfigurationError, match="MicrosoftAppTenantId"):
        build_teams_app(
            TeamsSettings(app_id="a", app_password="p"), review, InMemoryConversationStore()
        )
    dev = build_teams_app(TeamsSettings(development=True), review, InMemoryConversationStore())
    assert dev.adapter.app_id == ""


def test_accepts_the_core_settings_shape(review):
    class CoreSettings:  # the attribute names of approvals.config.Settings
        environment = "production"
        teams_app_id = "app"
        teams_app_password = type("Secret", (), {"get_secret_value": lambda self: "pw"})()
        teams_app_tenant_id = TENANT
        teams_app_type = "SingleTenant"
        teams_service_url = "https://smba.trafficmanager.net/amer/"
        teams_conversation_id = CONVERSATION
        teams_openid_metadata_url = None
        teams_token_url = None

    app = build_teams_app(CoreSettings(), review, InMemoryConversationStore())
    assert app.settings.app_password == "pw"
    assert app.settings.openid_metadata_url.startswith("https://login.botframework.com/")
    assert app.settings.development is False


async def test_end_to_end_post_two_approvals_every_copy_updated(client, bf, teams, review):
    second_channel = "19:privacy@thread.tacv2"
    await client.post(
        "/teams/messages",
        headers=bearer(bf),
        json=conversation_update_activity(bf, conversation_id=second_channel),
    )
    card = await review.card(ACTION_ID)
    refs = await teams.channel.post(card, [CONVERSATION, second_channel])
    assert len(refs) == 2
    posted = card_of(bf.connector_calls("POST")[0].body)
    signed = posted["refresh"]["action"]["data"]["ref"]

    for aad in ("aad-dba", "aad-privacy"):
        body = invoke_activity(
            bf,
            conversation_id=CONVERSATION,
            aad_object_id=aad,
            verb="approvals.approve",
            data={"ref": signed},
        )
        response = await client.post("/teams/messages", json=body, headers=bearer(bf))
        assert response.status_code == 200
        # What the core does after each accepted vote: update every copy.
        await teams.channel.update(refs, review.cards[ACTION_ID])

    assert review.cards[ACTION_ID].status == "approved"
    for ref in refs:
        final = card_of(bf.activity(ref.channel_id, ref.message_id))
        assert "refresh" not in final
        assert "actions" not in final
        assert "Status: approved" in str(final)
    again = invoke_activity(
        bf,
        conversation_id=CONVERSATION,
        aad_object_id="aad-dba",
        verb="approvals.approve",
        data={"ref": signed},
    )
    response = await client.post("/teams/messages", json=again, headers=bearer(bf))
    assert "already approved" in str(response.json()["value"])


async def test_only_approvers_in_that_conversations_roster_get_the_refresh(
    client, bf, teams, review
):
    small = "19:only-dba@thread.tacv2"
    bf.add_member(small, aad_object_id="aad-dba", email="DBA@example.org")  # case differs
    bf.add_member(small, aad_object_id="aad-outsider", email="visitor@example.org")
    installed = conversation_update_activity(bf, conversation_id=small)
    assert (await client.post("/teams/messages", json=installed, headers=bearer(bf))).is_success
    card = await review.card(ACTION_ID)

    refs = await teams.channel.post(card, [CONVERSATION, small])
    await teams.channel.update(refs, card)  # a second render in each conversation

    posts = {c.body["conversation"]["id"]: card_of(c.body) for c in bf.connector_calls("POST")}
    assert posts[CONVERSATION]["refresh"]["userIds"] == ["aad-dba", "aad-privacy"]
    assert posts[small]["refresh"]["userIds"] == ["aad-dba"]
    roster_reads = [c for c in bf.connector_calls("GET") if c.path.endswith("/pagedmembers")]
    assert len(roster_reads) == 2  # one per conversation: the updates used the cache


async def test_an_unreadable_roster_shows_everyone_the_buttons(teams, bf, review):
    bf.fail_next("GET", 403)  # the roster read is refused (e.g. no permission to read it)
    card = await review.card(ACTION_ID)

    await teams.channel.post(card, [])

    [post] = bf.connector_calls("POST")
    content = card_of(post.body)
    assert [a["title"] for a in content["actions"]] == ["Approve", "Deny…"]
    assert "refresh" not in content  # the core still refuses whoever may not vote


def _notice(event: str = "denied", **overrides):
    from approvals.channels.base import Notice

    fields = {
        "action_id": ACTION_ID,
        "event": event,
        "action": "sql.execute",
        "environment": "prod",
        "resource": "db.prod.encounters",
        "requester": "svc:etl",
        "on_behalf_of": "dba@example.org",
        "approver_groups": ("dba-oncall",),
        "decided_by": "privacy@example.org",
        "reason": "use the de-identified view",
        "at": None,
        "url": "https://approvals.example.org/ui/actions/" + ACTION_ID,
    }
    return Notice(**{**fields, **overrides})


async def test_a_person_in_a_known_roster_gets_a_personal_message(teams, bf):
    told = await teams.channel.notify("DBA@example.org", _notice())

    assert told is True
    [created] = [c for c in bf.connector_calls("POST") if c.path.endswith("/v3/conversations")]
    assert created.body["isGroup"] is False
    assert created.body["members"] == [{"id": "aad-dba"}]
    assert created.body["channelData"] == {"tenant": {"id": TENANT}}  # how Teams reads it
    [message] = [c for c in bf.connector_calls("POST") if "a%3A1personal-aad-dba" in c.path]
    card = card_of(message.body)
    text = " ".join(run["text"] for block in card["body"] for run in block["inlines"])
    assert "A request on your behalf by svc:etl" in text
    assert "was denied by privacy@example.org. Nothing will run." in text
    assert "use the de-identified view" in text
    assert card["actions"][0]["url"].endswith(ACTION_ID)


async def test_a_stranger_is_not_known_and_nothing_is_sent(teams, bf):
    told = await teams.channel.notify("nobody@example.org", _notice())

    assert told is False
    assert not [c for c in bf.connector_calls("POST") if c.path.endswith("/v3/conversations")]
