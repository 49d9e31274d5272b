"""Turns what Teams sends the bot into core calls: card clicks into `ReviewPort.decide`.

Owns the trust decisions on the inbound side, in order: the activity comes from our tenant; the
button's signed reference verifies for that tenant (so it names the request the card was posted
for); the clicking user resolves, through the conversation roster (`TeamsInfo.get_member`), to a
member of our tenant with an email, which is the identity the core authorises. Only then is the
core asked. Every refusal answers 200 with a card saying why, because Teams shows a non-200
invoke answer as a generic error. Installation events record conversation references.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import structlog
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue

from approvals.channels.base import DecisionAttempt, ReviewPort, VerdictName
from approvals.channels.cards import Card
from approvals.channels.teams import adaptive_cards as ac
from approvals.channels.teams.roster import Roster, approver_ids, refresh_view
from approvals.channels.teams.signing import ActionRefError, sign_action_ref, verify_action_ref
from approvals.channels.teams.store import ConversationStore
from approvals.kit.identity import identity_key

log = structlog.get_logger(__name__)

Json = dict[str, Any]
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_REASON_CHARS = 2000
_VERDICTS: dict[str, VerdictName] = {ac.VERB_APPROVE: "approve", ac.VERB_DENY: "deny"}
# Cards in one answer: Teams shows them as a carousel; more belong on the web page.
MAX_LISTED = 5
HELP = (
    "I post approval requests to your review channels and take your Approve/Deny clicks. "
    "Write 'pending' here to see every request waiting for your decision."
)
CHANNEL_HINT = "Write to me in a 1:1 chat to see what waits for your decision."
NOTHING_WAITING = "Nothing is waiting for your decision."


class Refused(Exception):
    """A click we answer with an explanation instead of a decision."""


def activity_tenant(activity: Activity) -> str:
    channel_data = activity.channel_data or {}
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else None
    if isinstance(tenant, dict) and tenant.get("id"):
        return str(tenant["id"])
    conversation = activity.conversation
    return str(getattr(conversation, "tenant_id", None) or "")


def card_answer(card: Json) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(status_code=HTTPStatus.OK, type=CARD_CONTENT_TYPE, value=card)


class ApprovalsTeamsBot(TeamsActivityHandler):  # type: ignore[misc]
    def __init__(
        self,
        review: ReviewPort,
        store: ConversationStore,
        *,
        tenant_id: str,
        secret: bytes,
        roster: Roster,
    ) -> None:
        super().__init__()
        self._review = review
        self._store = store
        self._tenant_id = tenant_id
        self._secret = secret
        self._roster = roster

    # -- Universal Actions ---------------------------------------------------------------------
    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        action = invoke_value.action if isinstance(invoke_value.action, dict) else {}
        verb = str(action.get("verb") or "")
        raw_data = action.get("data")
        data: Json = raw_data if isinstance(raw_data, dict) else {}
        try:
            ref = str(data.get(ac.REF_KEY) or "")
            action_id = self._verify(turn_context.activity, ref)
        except Refused as refusal:
            log.info("teams.invoke.refused", verb=verb, reason=str(refusal))
            return card_answer(ac.render_notice_card(str(refusal)))
        try:
            if verb == ac.VERB_REFRESH:
                # Answered from the cached roster: Teams refreshes each time a card is viewed.
                return await self._refresh(turn_context, action_id, ref)
            if verb not in _VERDICTS:
                raise Refused("This button is not recognised.")
            email = await self._resolve_email(turn_context)
            return await self._decide(turn_context, action_id, ref, email, _VERDICTS[verb], data)
        except Refused as refusal:
            log.info("teams.invoke.refused", action_id=action_id, verb=verb, reason=str(refusal))
            return await self._answer(turn_context, action_id, ref, notice=str(refusal))

    def _verify(self, activity: Activity, ref: str) -> str:
        tenant = activity_tenant(activity)
        if self._tenant_id and tenant != self._tenant_id:
            raise Refused("This request belongs to another organisation.")
        try:
            return verify_action_ref(ref, tenant, self._secret)
        except ActionRefError as exc:
            raise Refused(
                "This card could not be verified; open the request from a fresh copy."
            ) from exc

    async def _resolve_email(self, turn_context: TurnContext) -> str:
        sender = turn_context.activity.from_property
        member_id = getattr(sender, "aad_object_id", None) or getattr(sender, "id", None)
        if not member_id:
            raise Refused("Your Teams account could not be identified.")
        try:
            member = await TeamsInfo.get_member(turn_context, member_id)
        except Exception as exc:  # ErrorResponseException 404, network: the user stays unknown
            log.warning("teams.roster.lookup_failed", error=type(exc).__name__)
            raise Refused("Your account was not found in this conversation's roster.") from exc
        member_tenant = getattr(member, "tenant_id", None) or ""
        if self._tenant_id and member_tenant != self._tenant_id:
            raise Refused("Your account belongs to another organisation.")
        email = getattr(member, "email", None) or getattr(member, "user_principal_name", None)
        identity = identity_key(str(email or ""))
        if not identity:
            raise Refused("Your Teams account has no email address to match against policy.")
        return identity

    async def _decide(
        self,
        turn_context: TurnContext,
        action_id: str,
        ref: str,
        email: str,
        verdict: VerdictName,
        data: Json,
    ) -> AdaptiveCardInvokeResponse:
        field = ac.DENY_REASON_INPUT if verdict == "deny" else ac.COMMENT_INPUT
        raw = data.get(field)
        reason = raw.strip()[:MAX_REASON_CHARS] if isinstance(raw, str) else ""
        if verdict == "deny" and not reason:
            # The client enforces isRequired, but a crafted invoke does not go through it.
            return await self._answer(
                turn_context,
                action_id,
                ref,
                show_actions=True,
                notice="A reason is required to deny.",
            )
        result = await self._review.decide(
            DecisionAttempt(
                action_id=action_id,
                approver_email=email,
                verdict=verdict,
                reason=reason or None,
                platform="teams",
            )
        )
        log.info(
            "teams.invoke.decided", action_id=action_id, verdict=verdict, accepted=result.accepted
        )
        # A refusal, or a repeated click (a double click, a retried invoke): say so on the card;
        # a first vote needs no notice, the card itself shows it.
        notice = result.message if not result.accepted or result.repeated else None
        card = result.card or await self._review.card(action_id)
        if card is None:
            return card_answer(ac.render_notice_card(result.message))
        rendered = await self._render(turn_context, card, ref, show_actions=False, notice=notice)
        return card_answer(rendered)

    async def _refresh(
        self, turn_context: TurnContext, action_id: str, ref: str
    ) -> AdaptiveCardInvokeResponse:
        card = await self._review.card(action_id)
        if card is None:
            return card_answer(ac.render_notice_card("This request no longer exists."))
        user = getattr(turn_context.activity.from_property, "aad_object_id", None) or ""
        ids = await approver_ids(self._roster, self._review, turn_context, card)
        return card_answer(self._card(card, ref, ids, show_actions=ids is None or user in ids))

    async def _answer(
        self,
        turn_context: TurnContext,
        action_id: str,
        ref: str,
        *,
        notice: str,
        show_actions: bool = False,
    ) -> AdaptiveCardInvokeResponse:
        card = await self._review.card(action_id)
        if card is None:
            return card_answer(ac.render_notice_card(notice))
        rendered = await self._render(
            turn_context, card, ref, show_actions=show_actions, notice=notice
        )
        return card_answer(rendered)

    async def _render(
        self,
        turn_context: TurnContext,
        card: Card,
        ref: str,
        *,
        show_actions: bool,
        notice: str | None = None,
    ) -> Json:
        ids = await approver_ids(self._roster, self._review, turn_context, card)
        return self._card(card, ref, ids, show_actions=show_actions, notice=notice)

    def _card(
        self,
        card: Card,
        ref: str,
        ids: Sequence[str] | None,
        *,
        show_actions: bool,
        notice: str | None = None,
    ) -> Json:
        """The answer keeps the shared copy's refresh, so approvers keep getting buttons."""
        _, refresh = refresh_view(ids)
        return ac.render_card(
            card,
            signed_data=ref,
            show_actions=show_actions,
            notice=notice,
            refresh_user_ids=refresh,
        )

    # -- a person writes to the bot -------------------------------------------------------------
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """In a 1:1 chat, any message but "help" lists what waits for the writer's decision,
        as cards with their buttons (only they see a personal chat). In channels the bot only
        points to the 1:1 chat: a person's queue is theirs to see. Foreign tenants get silence."""
        activity = turn_context.activity
        if self._tenant_id and activity_tenant(activity) != self._tenant_id:
            log.info("teams.message.foreign_tenant_ignored")
            return
        text = TurnContext.remove_recipient_mention(activity) or activity.text or ""
        personal = getattr(activity.conversation, "conversation_type", None) == "personal"
        if not personal:
            await turn_context.send_activity(MessageFactory.text(CHANNEL_HINT))
            return
        if text.strip().lower() == "help":
            await turn_context.send_activity(MessageFactory.text(HELP))
            return
        try:
            email = await self._resolve_email(turn_context)
        except Refused as refusal:
            await turn_context.send_activity(MessageFactory.text(str(refusal)))
            return
        cards = await self._review.waiting_for(email, limit=MAX_LISTED + 1)
        if not cards:
            await turn_context.send_activity(MessageFactory.text(NOTHING_WAITING))
            return
        shown = cards[:MAX_LISTED]
        summary = f"{len(shown)} request(s) wait for your decision, the soonest to expire first."
        if len(cards) > MAX_LISTED:
            summary += " More are on the web page."
        tenant = activity_tenant(activity)
        attachments = [
            CardFactory.adaptive_card(
                ac.render_card(
                    card,
                    signed_data=sign_action_ref(card.action_id, tenant, self._secret),
                    show_actions=True,
                )
            )
            for card in shown
        ]
        await turn_context.send_activity(MessageFactory.carousel(attachments, summary))

    # -- installation: learn where the bot may post ----------------------------------------------
    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = getattr(activity.recipient, "id", None)
        if any(getattr(m, "id", None) == bot_id for m in activity.members_added or ()):
            await self._remember(activity, "conversation_update")
        await super().on_conversation_update_activity(turn_context)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self._remember(turn_context.activity, "installation_update")

    async def _remember(self, activity: Activity, source: str) -> None:
        tenant = activity_tenant(activity)
        if self._tenant_id and tenant != self._tenant_id:
            log.warning("teams.install.foreign_tenant_ignored", source=source)
            return
        ref: Json = TurnContext.get_conversation_reference(activity).serialize()
        # The installing user is not needed to post, and is personal data we need not keep.
        ref.pop("user", None)
        ref.pop("activityId", None)
        ref["tenantId"] = tenant
        await self._store.save(ref)
        log.info(
            "teams.install.reference_saved",
            source=source,
            conversation_type=getattr(activity.conversation, "conversation_type", None),
        )
