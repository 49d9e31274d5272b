"""SlackChannel against the loopback Slack double: posting copies, updating them in place."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from approvals.channels.base import MessageRef, PostIncomplete
from approvals.channels.cards import Card
from approvals.channels.slack import SlackChannel, build_web_client
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.slack.slack_harness import BOT_TOKEN
from tests.unit.slack.slack_cards import make_card, vote

DEFAULT = "C0DEFAULT"


@pytest.fixture
def channel(fake: FakeSlackApi) -> SlackChannel:
    return SlackChannel(build_web_client(bot_token=BOT_TOKEN, api_url=fake.base_url), DEFAULT)


def approved() -> Card:
    return make_card(status="approved", approvals_so_far=1, votes=(vote("ana@example.org"),))


class TestPost:
    async def test_posts_to_the_default_channel_and_returns_a_ref(self, fake, channel):
        refs = await channel.post(make_card(), [])

        (call,) = fake.calls("chat.postMessage")
        assert refs == [
            MessageRef(platform="slack", channel_id=DEFAULT, message_id=refs[0].message_id)
        ]
        assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}"
        assert call.body["channel"] == DEFAULT
        assert call.body["unfurl_links"] is False
        assert call.body["text"].startswith("Approval needed: db.query")
        assert call.body["blocks"][0]["type"] == "header"
        assert fake.message(DEFAULT, refs[0].message_id) is not None

    async def test_posts_one_copy_per_target(self, fake, channel):
        refs = await channel.post(make_card(), ["C0DBA", "C0PRIVACY"])

        assert [r.channel_id for r in refs] == ["C0DBA", "C0PRIVACY"]
        assert len({r.message_id for r in refs}) == 2

    async def test_a_missing_channel_is_reported_gone_with_the_other_copies(self, fake, channel):
        fake.missing_channels.add("C0GONE")

        with pytest.raises(PostIncomplete) as incomplete:
            await channel.post(make_card(), ["C0GONE", "C0DBA"])

        assert [r.channel_id for r in incomplete.value.posted] == ["C0DBA"]
        assert incomplete.value.gone == {"C0GONE": "channel_not_found"}
        assert incomplete.value.retry == {}

    async def test_a_copy_still_rate_limited_is_reported_for_retry_with_the_others(
        self, fake, channel
    ):
        fake.fail_posts_to("C0PRIVACY", times=3, retry_after=1)

        with pytest.raises(PostIncomplete) as incomplete:
            await channel.post(make_card(), ["C0DBA", "C0PRIVACY"])

        assert [r.channel_id for r in incomplete.value.posted] == ["C0DBA"]
        assert incomplete.value.retry == {"C0PRIVACY": "ratelimited"}
        statuses = [c.status for c in fake.calls("chat.postMessage")]
        assert statuses == [200, 429, 429, 429]  # the client's own two retries, then reported

    async def test_rate_limited_post_is_retried_and_the_card_still_posted(self, fake, channel):
        fake.fail_next("chat.postMessage", status=429, retry_after=1)

        refs = await channel.post(make_card(), [])

        limited, posted = fake.calls("chat.postMessage")
        assert (limited.status, posted.status) == (429, 200)
        assert posted.at - limited.at >= 1.0
        assert len(refs) == 1

    async def test_invalid_auth_is_reported_for_retry(self, fake, channel):
        fake.error_next("chat.postMessage", "invalid_auth")

        with pytest.raises(PostIncomplete) as incomplete:
            await channel.post(make_card(), [])

        assert incomplete.value.retry == {DEFAULT: "invalid_auth"}


class TestUpdate:
    async def test_every_copy_is_updated_and_buttons_removed_on_final(self, fake, channel):
        refs = await channel.post(make_card(), ["C0DBA", "C0PRIVACY"])

        await channel.update(refs, approved())

        assert len(fake.calls("chat.update")) == 2
        for ref in refs:
            message = fake.message(ref.channel_id, ref.message_id)
            assert message is not None
            assert all(b["type"] != "actions" for b in message["blocks"])

    async def test_update_is_idempotent(self, fake, channel):
        refs = await channel.post(make_card(), [])
        await channel.update(refs, approved())
        first = fake.message(refs[0].channel_id, refs[0].message_id)

        await channel.update(refs, approved())

        assert fake.message(refs[0].channel_id, refs[0].message_id) == first

    async def test_a_deleted_message_is_logged_not_raised(self, fake, channel):
        refs = await channel.post(make_card(), [])
        gone = MessageRef(platform="slack", channel_id=DEFAULT, message_id="1.000001")

        await channel.update([gone, *refs], approved())

        assert [c.body["ts"] for c in fake.calls("chat.update")] == ["1.000001", refs[0].message_id]

    async def test_other_platforms_refs_are_ignored(self, fake, channel):
        teams = MessageRef(platform="teams", channel_id="19:abc", message_id="1", service_url="x")

        await channel.update([teams], approved())

        assert fake.calls("chat.update") == []

    async def test_transient_failure_is_raised_after_trying_every_copy(self, fake, channel):
        refs = await channel.post(make_card(), ["C0DBA", "C0PRIVACY"])
        fake.error_next("chat.update", "internal_error")

        with pytest.raises(SlackApiError):
            await channel.update(refs, approved())

        assert len(fake.calls("chat.update")) == 2


class TestHooks:
    async def test_reminder_is_a_thread_reply_under_each_copy(self, fake, channel):
        refs = await channel.post(make_card(), [])

        await channel.remind(refs, make_card(), "Still waiting for a decision <!here>")

        reminder = fake.calls("chat.postMessage")[-1]
        assert reminder.body["thread_ts"] == refs[0].message_id
        assert "&lt;!here&gt;" in reminder.body["text"]

    async def test_escalation_posts_a_full_card_elsewhere(self, fake, channel):
        refs = await channel.escalate(make_card(), "C0ESCALATE")

        assert refs[0].channel_id == "C0ESCALATE"
        assert fake.calls("chat.postMessage")[-1].body["blocks"]
