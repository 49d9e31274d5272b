"""`POST /teams/messages` end to end through botbuilder's real JWT validation and roster lookup."""

from __future__ import annotations

import time

import pytest

from approvals.channels.teams.adaptive_cards import VERB_APPROVE, VERB_DENY, VERB_REFRESH
from approvals.channels.teams.settings import card_signing_key
from approvals.channels.teams.signing import sign_action_ref
from tests.fakes.teams_connector import new_rsa_key
from tests.integration.teams.teams_world import (
    ACTION_ID,
    CONVERSATION,
    TENANT,
    bearer,
    invoke_activity,
    message_activity,
)

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


def texts(node):
    if isinstance(node, dict):
        if node.get("type") in ("TextRun", "TextBlock"):
            yield node["text"]
        for value in node.values():
            yield from texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts(value)


@pytest.fixture
def ref(settings):
    return sign_action_ref(ACTION_ID, TENANT, card_signing_key(settings))


def click(bf, ref, *, aad="aad-dba", verb=VERB_APPROVE, extra=None, **kwargs):
    data = {"ref": ref, **(extra or {})}
    return invoke_activity(
        bf, conversation_id=CONVERSATION, aad_object_id=aad, verb=verb, data=data, **kwargs
    )


async def test_approve_invoke_decides_with_roster_email_and_answers_updated_card(
    client, bf, ref, review
):
    started = time.perf_counter()
    response = await client.post("/teams/messages", json=click(bf, ref), headers=bearer(bf))
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["statusCode"] == 200
    assert answer["type"] == CARD_TYPE
    card = answer["value"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    [attempt] = review.attempts
    assert (attempt.action_id, attempt.approver_email, attempt.verdict, attempt.platform) == (
        ACTION_ID,
        "dba@example.org",
        "approve",
        "teams",
    )
    shown = " ".join(texts(card))
    assert "dba@example.org" in shown
    assert "1 of 2" in shown
    assert "actions" not in card  # the voter gets the read-only view after voting
    # The roster was asked with a token the fake token endpoint issued.
    [lookup] = bf.member_lookups()
    assert lookup.path.endswith("/members/aad-dba")
    assert lookup.headers["authorization"].removeprefix("Bearer ") in bf.issued_tokens
    print(f"invoke→answer on loopback fakes: {elapsed_ms:.1f} ms")  # noqa: T201


async def test_deny_with_reason_is_recorded(client, bf, ref, review):
    body = click(
        bf,
        ref,
        aad="aad-privacy",
        verb=VERB_DENY,
        extra={"deny_reason": "  too broad  ", "comment": ""},
    )
    response = await client.post("/teams/messages", json=body, headers=bearer(bf))
    assert response.status_code == 200
    [attempt] = review.attempts
    assert (attempt.verdict, attempt.reason) == ("deny", "too broad")
    assert review.cards[ACTION_ID].status == "denied"
    assert "too broad" in " ".join(texts(response.json()["value"]))


async def test_deny_without_reason_is_refused_before_the_core(client, bf, ref, review):
    body = click(bf, ref, verb=VERB_DENY, extra={"deny_reason": "   "})
    response = await client.post("/teams/messages", json=body, headers=bearer(bf))
    assert response.status_code == 200
    card = response.json()["value"]
    assert "A reason is required to deny." in " ".join(texts(card))
    assert card["actions"]  # the buttons stay so the reviewer can try again
    assert review.attempts == []


@pytest.mark.parametrize(
    ("aad", "message"),
    [
        ("aad-requester", "You cannot approve your own request."),
        ("aad-outsider", "You are not an approver for this request."),
        ("aad-guest", "Your account belongs to another organisation."),
        ("aad-unknown", "Your account was not found in this conversation's roster."),
    ],
)
async def test_refusals_answer_a_card_that_says_why(client, bf, ref, review, aad, message):
    response = await client.post(
        "/teams/messages", json=click(bf, ref, aad=aad), headers=bearer(bf)
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["type"] == CARD_TYPE
    assert message in " ".join(texts(answer["value"]))
    assert review.cards[ACTION_ID].approvals_so_far == 0


async def test_the_roster_email_is_resolved_to_the_one_identity_spelling(client, bf, ref, review):
    # Not an approver, so the module's roster keeps the same approvers for the other tests.
    bf.add_member(CONVERSATION, aad_object_id="aad-spelt", email="\u200bVisitor2\uff20Example.org")
    response = await client.post(
        "/teams/messages", json=click(bf, ref, aad="aad-spelt"), headers=bearer(bf)
    )
    assert response.status_code == 200
    [attempt] = review.attempts
    assert attempt.approver_email == "visitor2@example.org"


async def test_a_roster_email_that_is_no_identity_cannot_decide(client, bf, ref, review):
    bf.add_member(CONVERSATION, aad_object_id="aad-odd", email="dba smith@example.org")
    response = await client.post(
        "/teams/messages", json=click(bf, ref, aad="aad-odd"), headers=bearer(bf)
    )
    assert response.status_code == 200
    assert "no email address" in " ".join(texts(response.json()["value"]))
    assert review.attempts == []


async def test_reference_for_another_action_is_refused(client, bf, settings, review):
    # A reference signed for act_other, with the action id swapped for ours: forged.
    other = sign_action_ref("act_other", TENANT, card_signing_key(settings)).split(".")
    ours = sign_action_ref(ACTION_ID, TENANT, b"attacker-key").split(".")
    forged = ".".join([other[0], ours[1], other[2], other[3]])
    response = await client.post("/teams/messages", json=click(bf, forged), headers=bearer(bf))
    assert response.status_code == 200
    assert "could not be verified" in " ".join(texts(response.json()["value"]))
    assert review.attempts == []


async def test_reference_signed_for_another_tenant_is_refused(client, bf, settings, review):
    foreign = sign_action_ref(
        ACTION_ID, "22222222-0000-0000-0000-000000000000", card_signing_key(settings)
    )
    response = await client.post("/teams/messages", json=click(bf, foreign), headers=bearer(bf))
    assert "could not be verified" in " ".join(texts(response.json()["value"]))
    # And an invoke arriving from another tenant is refused whatever it carries.
    body = click(bf, foreign, tenant_id="22222222-0000-0000-0000-000000000000")
    response = await client.post("/teams/messages", json=body, headers=bearer(bf))
    assert "another organisation" in " ".join(texts(response.json()["value"]))
    assert review.attempts == []


async def test_refresh_gives_approvers_buttons_and_others_a_read_only_view(client, bf, ref):
    approver = await client.post(
        "/teams/messages", json=click(bf, ref, verb=VERB_REFRESH), headers=bearer(bf)
    )
    assert [a["title"] for a in approver.json()["value"]["actions"]] == ["Approve", "Deny…"]
    other = await client.post(
        "/teams/messages",
        json=click(bf, ref, aad="aad-outsider", verb=VERB_REFRESH),
        headers=bearer(bf),
    )
    assert "actions" not in other.json()["value"]
    assert other.json()["value"]["refresh"]["userIds"] == ["aad-dba", "aad-privacy"]


@pytest.mark.parametrize(
    "make_headers",
    [
        pytest.param(lambda bf: {}, id="missing-header"),
        pytest.param(lambda bf: {"Authorization": ""}, id="empty-header"),
        pytest.param(lambda bf: {"Authorization": "Bearer not.a.jwt"}, id="malformed"),
        pytest.param(lambda bf: {"Authorization": "Basic abc"}, id="wrong-scheme"),
        pytest.param(lambda bf: bearer(bf, key=new_rsa_key()), id="forged-signature"),
        pytest.param(lambda bf: bearer(bf, expires_in=-3600), id="expired"),
        pytest.param(lambda bf: bearer(bf, kid="unknown-kid"), id="unknown-kid"),
        pytest.param(lambda bf: bearer(bf, audience="some-other-bot"), id="wrong-audience"),
        pytest.param(lambda bf: bearer(bf, issuer="https://evil.example"), id="wrong-issuer"),
        pytest.param(
            lambda bf: bearer(bf, extra={"serviceurl": "https://evil.example/"}),
            id="wrong-serviceurl",
        ),
    ],
)
async def test_authentication_failures_are_401_and_change_nothing(
    client, bf, ref, review, make_headers
):
    response = await client.post("/teams/messages", json=click(bf, ref), headers=make_headers(bf))
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
    assert response.json()["detail"]
    assert review.attempts == []


@pytest.mark.parametrize(
    ("content", "detail"),
    [(b"{not json", "malformed JSON"), (b"[1, 2]", "JSON object"), (b"{}", "activity.type")],
)
async def test_malformed_bodies_are_400(client, bf, content, detail):
    response = await client.post(
        "/teams/messages",
        content=content,
        headers={**bearer(bf), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert detail in response.json()["detail"]


async def test_a_failing_core_is_a_bodyless_500_not_a_stack_trace(client, bf, ref, review):
    async def broken(attempt):
        raise RuntimeError("database is down")

    review.decide = broken
    response = await client.post("/teams/messages", json=click(bf, ref), headers=bearer(bf))
    assert response.status_code == 500
    assert response.json() == {"error": "internal", "detail": "turn failed"}


def _replies(bf, conversation: str) -> list[dict]:
    quoted = conversation.replace(":", "%3A").replace("@", "%40")
    return [
        c.body
        for c in bf.connector_calls("POST")
        if f"/conversations/{quoted}/activities/" in c.path
    ]


async def test_a_reviewer_writing_pending_gets_their_queue_with_buttons(client, bf):
    personal = "a:1personal-aad-dba"
    bf.add_member(personal, aad_object_id="aad-dba", email="dba@example.org")
    body = message_activity(bf, text="pending", aad_object_id="aad-dba")

    response = await client.post("/teams/messages", json=body, headers=bearer(bf))

    assert response.status_code in (200, 201)
    [reply] = _replies(bf, personal)
    assert "1 request(s) wait for your decision" in reply["text"]
    assert reply["attachmentLayout"] == "carousel"
    [attachment] = reply["attachments"]
    card = attachment["content"]
    assert [a["title"] for a in card["actions"]] == ["Approve", "Deny…"]
    assert card["actions"][0]["data"]["ref"]  # signed for this tenant, as on the channel copy


async def test_someone_with_nothing_to_decide_is_told_so(client, bf):
    personal = "a:1personal-aad-outsider"
    bf.add_member(personal, aad_object_id="aad-outsider", email="visitor@example.org")
    body = message_activity(bf, text="pending", aad_object_id="aad-outsider")

    await client.post("/teams/messages", json=body, headers=bearer(bf))

    [reply] = _replies(bf, personal)
    assert reply["text"] == "Nothing is waiting for your decision."
    assert not reply.get("attachments")


async def test_in_a_channel_the_bot_only_points_to_the_personal_chat(client, bf):
    body = message_activity(
        bf, text="<at>Approvals</at> pending", aad_object_id="aad-dba", personal=False
    )

    await client.post("/teams/messages", json=body, headers=bearer(bf))

    [reply] = _replies(bf, CONVERSATION)
    assert reply["text"] == "Write to me in a 1:1 chat to see what waits for your decision."
    assert not bf.member_lookups()  # nobody's queue is looked up, let alone shown, in a channel
