"""Posting and updating Slack cards: the `Channel` protocol over chat.postMessage and chat.update.

Returns a `MessageRef` per copy so the core can store it and update every copy in place later.
Never logs a card; logs carry the action id, channel id and Slack's error code only.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from approvals.channels.base import MessageRef, Notice, PostIncomplete
from approvals.channels.cards import Card
from approvals.channels.slack.blocks import escape_mrkdwn, fallback_text, render_blocks
from approvals.channels.slack.identity import error_code
from approvals.channels.slack.notices import dm_blocks, dm_text

log = structlog.get_logger(__name__)

# users.lookupByEmail answers these for someone this workspace cannot message: not a retry.
UNKNOWN_PERSON_ERRORS = frozenset({"users_not_found", "user_not_found", "account_inactive"})

# Retrying cannot fix these: the message or channel is gone, or the app lost access to it.
PERMANENT_UPDATE_ERRORS = frozenset(
    {
        "message_not_found",
        "channel_not_found",
        "cant_update_message",
        "edit_window_closed",
        "is_archived",
        "not_in_channel",
        "msg_too_long",
        "invalid_blocks",
    }
)


# A post that fails with these never succeeds on retry: dead-lettered at once.
PERMANENT_POST_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "msg_too_long",
        "invalid_blocks",
        "restricted_action",
    }
)


class SlackChannel:
    """The Slack implementation of `approvals.channels.base.Channel`."""

    name = "slack"

    def __init__(self, client: AsyncWebClient, default_channel: str) -> None:
        self._client = client
        self._default_channel = default_channel

    @property
    def default_target(self) -> str:
        return self._default_channel

    async def post(self, card: Card, targets: Sequence[str]) -> list[MessageRef]:
        """One copy per target (default channel when empty), each tried once (after the
        client's own 429 retries).

        Raises `PostIncomplete` after trying every target if any failed, carrying the copies
        that did post, so the job stores them and retries only the others.
        """
        blocks = render_blocks(card)
        text = fallback_text(card)
        refs: list[MessageRef] = []
        retry: dict[str, str] = {}
        gone: dict[str, str] = {}
        for target in list(dict.fromkeys(targets)) or [self._default_channel]:
            try:
                response = await self._client.chat_postMessage(
                    channel=target, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
                )
            except Exception as error:  # one failed copy must not lose the others
                code = (
                    error_code(error) if isinstance(error, SlackApiError) else type(error).__name__
                )
                log.warning(
                    "slack.card_post_failed", action_id=card.action_id, channel=target, error=code
                )
                (gone if code in PERMANENT_POST_ERRORS else retry)[target] = code
                continue
            channel_id = str(response.get("channel") or target)
            refs.append(
                MessageRef(platform="slack", channel_id=channel_id, message_id=str(response["ts"]))
            )
            log.info("slack.card_posted", action_id=card.action_id, channel=channel_id)
        if retry or gone:
            raise PostIncomplete(refs, retry, gone)
        return refs

    async def update(self, refs: Sequence[MessageRef], card: Card) -> None:
        """Re-render the card onto every Slack copy. Idempotent: same card, same message.

        Gone messages (`message_not_found`, archived channel, …) are logged and skipped; a
        transient failure (still rate-limited after retries, Slack down) is raised after every
        other copy was tried, so a job retry re-applies the same state.
        """
        blocks = render_blocks(card)
        text = fallback_text(card)
        transient: SlackApiError | None = None
        for ref in refs:
            if ref.platform != "slack":
                continue
            try:
                await self._client.chat_update(
                    channel=ref.channel_id, ts=ref.message_id, text=text, blocks=blocks
                )
            except SlackApiError as error:
                code = error_code(error)
                log.warning(
                    "slack.card_update_failed",
                    action_id=card.action_id,
                    channel=ref.channel_id,
                    error=code,
                )
                if code not in PERMANENT_UPDATE_ERRORS:
                    transient = error
        if transient is not None:
            raise transient

    async def remind(self, refs: Sequence[MessageRef], card: Card, note: str) -> None:
        """Reminder hook for the scheduler: a reply in each card's thread, not a new card."""
        text = f"{escape_mrkdwn(note)} · {fallback_text(card)}"
        for ref in refs:
            if ref.platform != "slack":
                continue
            try:
                await self._client.chat_postMessage(
                    channel=ref.channel_id, thread_ts=ref.message_id, text=text
                )
            except SlackApiError as error:
                log.warning(
                    "slack.reminder_failed",
                    action_id=card.action_id,
                    channel=ref.channel_id,
                    error=error_code(error),
                )

    async def notify(self, email: str, notice: Notice) -> bool:
        """DM the person with this email (`NotifiesPeople`): `users.lookupByEmail`, then
        chat.postMessage to their user id, which lands in the app's Messages tab.

        False when Slack does not know them (`users_not_found`), or they are a bot or
        deactivated; other errors propagate so the notice job retries.
        """
        try:
            found = await self._client.users_lookupByEmail(email=email)
        except SlackApiError as error:
            if error_code(error) in UNKNOWN_PERSON_ERRORS:
                return False
            log.warning("slack.lookup_failed", action_id=notice.action_id, error=error_code(error))
            raise
        user = found.get("user") or {}
        if not user.get("id") or user.get("is_bot") or user.get("deleted"):
            return False
        text = dm_text(notice, email)
        await self._client.chat_postMessage(
            channel=str(user["id"]),
            text=text,
            blocks=dm_blocks(text),
            unfurl_links=False,
            unfurl_media=False,
        )
        log.info("slack.requester_notified", action_id=notice.action_id, notice_event=notice.event)
        return True

    async def escalate(self, card: Card, channel: str) -> list[MessageRef]:
        """Escalation hook: a full card in another channel; store the refs like any copy."""
        return await self.post(card, [channel])
