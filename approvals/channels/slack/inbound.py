"""Slack interactions → one `ReviewPort.decide` call each: Approve, Deny (modal), the reason.

Every listener acks first (Slack gives 3 s), then does the slow work: bolt's async runner
answers the HTTP request at `ack()` and keeps the listener running. Never logs a payload.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from approvals.channels.base import DecisionAttempt, ReviewPort, VerdictName
from approvals.channels.slack.blocks import (
    APPROVE_ACTION_ID,
    DENY_ACTION_ID,
    DENY_CALLBACK_ID,
    REASON_ACTION_ID,
    REASON_BLOCK_ID,
    deny_modal,
    escape_mrkdwn,
    fallback_text,
    parse_deny_metadata,
    render_blocks,
)
from approvals.channels.slack.identity import (
    FOREIGN_WORKSPACE,
    SlackDirectory,
    error_code,
    verified_email,
    workspace_of,
)

log = structlog.get_logger(__name__)

NOT_RECORDED = "Your decision was not recorded: {why}"
INTERNAL = "the approvals service failed. Please try again; nothing was changed."


@dataclass(frozen=True, slots=True)
class _Click:
    """Where a decision came from: who, about what, and which message shows the card."""

    user_id: str
    user_team_id: str | None
    action_id: str
    channel_id: str | None
    message_ts: str | None
    retry_num: str | None = None  # X-Slack-Retry-Num: logged, never trusted for dedup
    from_home: bool = False  # clicked in the App Home tab, which is re-published afterwards


# Re-publishes a reviewer's App Home tab (user id, their verified email) after they decided.
HomeRefresher = Callable[[AsyncWebClient, str, str], Awaitable[None]]


class SlackInbound:
    """The listeners of one AsyncApp; state (review port, identity cache) is per instance."""

    def __init__(
        self,
        *,
        review: ReviewPort,
        directory: SlackDirectory,
        allowed_team_id: str | None,
        refresh_home: HomeRefresher | None = None,
    ) -> None:
        self._review = review
        self._directory = directory
        self._allowed_team_id = allowed_team_id
        self._refresh_home = refresh_home

    def register(self, app: AsyncApp) -> None:
        app.action(APPROVE_ACTION_ID)(self.on_approve)
        app.action(DENY_ACTION_ID)(self.on_deny)
        app.view_submission(DENY_CALLBACK_ID)(self.on_deny_reason)

    async def on_approve(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        request: AsyncBoltRequest,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        click = _click_from_block_action(body, request)
        if click is not None:
            await self._decide(client, context, click, "approve", None)

    async def on_deny(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        click = _click_from_block_action(body, None)
        if click is None:
            return
        if click.user_team_id not in (None, self._workspace(context)):
            # Known from the signed payload alone: no point asking a guest for a reason.
            await self._refuse_foreign(client, click)
            return
        # trigger_id dies 3 s after the click: open the modal before anything slow.
        view = deny_modal(
            click.action_id,
            channel_id=click.channel_id,
            message_ts=click.message_ts,
            from_home=click.from_home,
        )
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as error:
            log.warning(
                "slack.deny_modal_failed", action_id=click.action_id, error=error_code(error)
            )

    async def on_deny_reason(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        request: AsyncBoltRequest,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        values = view.get("state", {}).get("values", {})
        reason = (values.get(REASON_BLOCK_ID, {}).get(REASON_ACTION_ID, {}).get("value")) or ""
        if not reason.strip():
            # Slack enforces "required" but accepts whitespace; answer in the modal itself.
            await ack(response_action="errors", errors={REASON_BLOCK_ID: "Please give a reason."})
            return
        await ack()
        meta = parse_deny_metadata(view.get("private_metadata") or "")
        user = body.get("user") or {}
        if meta is None or not user.get("id"):
            log.warning("slack.deny_reason_unreadable")
            return
        click = _Click(
            user_id=user["id"],
            user_team_id=user.get("team_id"),
            action_id=meta.action_id,
            channel_id=meta.channel_id,
            message_ts=meta.message_ts,
            retry_num=_retry_num(request),
            from_home=meta.from_home,
        )
        await self._decide(client, context, click, "deny", reason.strip())

    async def _decide(
        self,
        client: AsyncWebClient,
        context: AsyncBoltContext,
        click: _Click,
        verdict: VerdictName,
        reason: str | None,
    ) -> None:
        email = await self._verified_email(client, context, click)
        if email is None:
            return
        attempt = DecisionAttempt(
            action_id=click.action_id,
            approver_email=email,
            verdict=verdict,
            reason=reason,
            platform="slack",
        )
        try:
            result = await self._review.decide(attempt)
        except Exception:  # a reviewer must hear that the click did nothing, whatever broke
            log.exception("slack.decide_failed", action_id=click.action_id, verdict=verdict)
            await self._tell(client, click, NOT_RECORDED.format(why=INTERNAL))
            return
        if click.from_home and self._refresh_home is not None:
            await self._refresh_home(client, click.user_id, email)
        log.info(
            "slack.decision",
            action_id=click.action_id,
            verdict=verdict,
            accepted=result.accepted,
            retry_num=click.retry_num,
        )
        if not result.accepted or result.repeated:
            await self._tell(client, click, result.message)  # nothing changed: say why
            return
        if result.card is not None and click.channel_id and click.message_ts:
            try:
                await client.chat_update(
                    channel=click.channel_id,
                    ts=click.message_ts,
                    text=fallback_text(result.card),
                    blocks=render_blocks(result.card),
                )
            except SlackApiError as error:
                # The vote is recorded; the card job updates every copy again anyway.
                log.warning(
                    "slack.card_update_failed", action_id=click.action_id, error=error_code(error)
                )

    async def _verified_email(
        self, client: AsyncWebClient, context: AsyncBoltContext, click: _Click
    ) -> str | None:
        """The clicker's email, or None after telling them why they cannot decide here."""
        found = await verified_email(
            self._directory,
            client,
            user_id=click.user_id,
            user_team_id=click.user_team_id,
            workspace=self._workspace(context),
        )
        if isinstance(found, str):
            return found
        if found.error is not None:
            log.warning("slack.users_info_failed", action_id=click.action_id, error=found.error)
        elif found.why == FOREIGN_WORKSPACE:
            log.info("slack.foreign_user_refused", action_id=click.action_id)
        await self._tell(client, click, NOT_RECORDED.format(why=found.why))
        return None

    def _workspace(self, context: AsyncBoltContext) -> str | None:
        return workspace_of(context, self._allowed_team_id)

    async def _refuse_foreign(self, client: AsyncWebClient, click: _Click) -> None:
        log.info("slack.foreign_user_refused", action_id=click.action_id)
        await self._tell(client, click, NOT_RECORDED.format(why=FOREIGN_WORKSPACE))

    async def _tell(self, client: AsyncWebClient, click: _Click, message: str) -> None:
        """Only the clicker sees it: ephemeral in the card's channel, else a DM from the app."""
        text = escape_mrkdwn(message)
        try:
            if click.channel_id:
                await client.chat_postEphemeral(
                    channel=click.channel_id, user=click.user_id, text=text
                )
            else:
                await client.chat_postMessage(channel=click.user_id, text=text)
        except SlackApiError as error:
            log.warning(
                "slack.refusal_not_delivered", action_id=click.action_id, error=error_code(error)
            )


def _retry_num(request: AsyncBoltRequest | None) -> str | None:
    if request is None:
        return None
    values = request.headers.get("x-slack-retry-num")
    return values[0] if values else None


def _click_from_block_action(
    body: dict[str, Any], request: AsyncBoltRequest | None
) -> _Click | None:
    actions = body.get("actions") or []
    user = body.get("user") or {}
    if not actions or not actions[0].get("value") or not user.get("id"):
        log.warning("slack.block_action_unreadable")
        return None
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return _Click(
        user_id=user["id"],
        user_team_id=user.get("team_id"),
        action_id=actions[0]["value"],
        channel_id=channel,
        message_ts=container.get("message_ts"),
        retry_num=_retry_num(request),
        from_home=(body.get("view") or {}).get("type") == "home",
    )
