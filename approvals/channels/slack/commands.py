"""`/approvals` and the App Home tab: every request waiting for the viewer, in Slack.

Both ack at once and look things up afterwards (Slack gives 3 s). The viewer is identified
exactly as a clicker is (`verified_email`: same workspace, a real email), and sees only what
`ReviewPort` lets that email see. Never logs command text: it may carry an id, never PHI,
but the rule "no payloads in logs" has no exceptions.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from approvals.channels.base import ReviewPort
from approvals.channels.cards import Card
from approvals.channels.slack.blocks import fallback_text, render_blocks
from approvals.channels.slack.identity import (
    SlackDirectory,
    Unverified,
    error_code,
    verified_email,
    workspace_of,
)
from approvals.channels.slack.lists import (
    COMMAND,
    MAX_LISTED,
    USAGE,
    home_view,
    notice_blocks,
    pending_blocks,
)

log = structlog.get_logger(__name__)

CANNOT_LIST = "Nothing can be shown: {why}"
NOT_FOUND = "No request {id} that you asked for or review."


class SlackQueue:
    """The listeners of one AsyncApp for the viewer's queue; state is per instance."""

    def __init__(
        self,
        *,
        review: ReviewPort,
        directory: SlackDirectory,
        allowed_team_id: str | None,
        web_url: str,
    ) -> None:
        self._review = review
        self._directory = directory
        self._allowed_team_id = allowed_team_id
        self._web_url = web_url

    def register(self, app: AsyncApp) -> None:
        app.command(COMMAND)(self.on_command)
        app.event("app_home_opened")(self.on_home_opened)

    async def on_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        words = str(command.get("text") or "").split() or ["pending"]
        verb = words[0].lower()
        if verb == "help" or {"pending": 1, "show": 2}.get(verb) != len(words):
            unknown = "" if verb == "help" else f"`{COMMAND} {' '.join(words)}` is not a command.\n"
            await respond(text=unknown + USAGE, response_type="ephemeral")
            return
        found = await self._viewer(client, context, str(command.get("user_id") or ""))
        if not isinstance(found, str):
            message = CANNOT_LIST.format(why=found.why)
            await respond(text=message, blocks=notice_blocks(message), response_type="ephemeral")
            return
        if verb == "pending":
            cards, more = await self._queue(found)
            blocks = pending_blocks(cards, more=more, web_url=self._web_url)
            text = f"{len(cards)} request(s) wait for your decision."
            await respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        card = await self._review.card_for(words[1], found)
        if card is None:
            message = NOT_FOUND.format(id=words[1])
            await respond(text=message, blocks=notice_blocks(message), response_type="ephemeral")
            return
        # The requester (or anyone who cannot vote) sees the status, not Approve/Deny.
        voter = found.lower() in {e.lower() for e in self._review.approvers_of(card)}
        await respond(
            text=fallback_text(card),
            blocks=render_blocks(card, voter=voter),
            response_type="ephemeral",
        )

    async def on_home_opened(
        self, event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return  # the Messages tab: requester notices live there, nothing to publish
        user_id = str(event["user"])
        found = await self._viewer(client, context, user_id)
        if not isinstance(found, str):
            view = {"type": "home", "blocks": notice_blocks(CANNOT_LIST.format(why=found.why))}
            await self._publish(client, user_id, view)
            return
        await self.refresh_home(client, user_id, found)

    async def refresh_home(self, client: AsyncWebClient, user_id: str, email: str) -> None:
        """Publish the viewer's current queue (also after they decided from the tab)."""
        cards, more = await self._queue(email)
        await self._publish(client, user_id, home_view(cards, more=more, web_url=self._web_url))

    async def _viewer(
        self, client: AsyncWebClient, context: AsyncBoltContext, user_id: str
    ) -> str | Unverified:
        # Commands and events carry no trustworthy team of the user: users.info decides.
        return await verified_email(
            self._directory,
            client,
            user_id=user_id,
            user_team_id=None,
            workspace=workspace_of(context, self._allowed_team_id),
        )

    async def _queue(self, email: str) -> tuple[list[Card], bool]:
        """The first MAX_LISTED requests waiting for `email`, and whether there are more."""
        cards = await self._review.waiting_for(email, limit=MAX_LISTED + 1)
        return cards[:MAX_LISTED], len(cards) > MAX_LISTED

    async def _publish(self, client: AsyncWebClient, user_id: str, view: dict[str, Any]) -> None:
        try:
            await client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            log.warning("slack.home_publish_failed", error=error_code(error))
