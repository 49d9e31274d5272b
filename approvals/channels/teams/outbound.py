"""`TeamsChannel`: the Channel the core calls to post a card into Teams and update every copy.

Owns proactive messaging: a target is a conversation id; its service URL comes from a reference
learned at installation (`ConversationStore`) or, for the configured default conversation, from
`APPROVALS_TEAMS_SERVICE_URL`. Posting goes through botbuilder's `continue_conversation`, so the
connector client and its outbound token (Azure AD, or the configured token URL) are the ones the
adapter's authentication builds. Each posted copy's activity id is returned as a `MessageRef` and
is what `update` later replaces in place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)

from approvals.channels.base import MessageRef, ReviewPort
from approvals.channels.cards import Card
from approvals.channels.teams.adapter import TeamsAdapter
from approvals.channels.teams.adaptive_cards import render_card
from approvals.channels.teams.roster import Roster, approver_ids, refresh_view
from approvals.channels.teams.signing import sign_action_ref
from approvals.channels.teams.store import ConversationStore, conversation_id_of

log = structlog.get_logger(__name__)

Json = dict[str, Any]
# The connector's answers for a copy that will never accept an update (deleted activity, bot
# removed from the conversation, malformed id): retrying cannot help.
GONE_STATUSES = frozenset({400, 403, 404})


class TeamsChannel:
    name = "teams"

    def __init__(
        self,
        adapter: TeamsAdapter,
        *,
        tenant_id: str,
        secret: bytes,
        default_service_url: str = "",
        default_conversation_id: str = "",
        store: ConversationStore | None = None,
        review: ReviewPort,
        roster: Roster,
    ) -> None:
        self._adapter = adapter
        self._tenant_id = tenant_id
        self._secret = secret
        self._default_service_url = default_service_url
        self._default_conversation_id = default_conversation_id
        self._store = store
        self._review = review
        self._roster = roster

    async def render(self, turn_context: TurnContext, card: Card) -> Json:
        """The shared copy in one conversation: read-only, with a refresh that gives the
        approvers in its roster their buttons (buttons for everyone if the roster is unknown;
        the core still decides who may vote)."""
        show_actions, refresh = refresh_view(
            await approver_ids(self._roster, self._review, turn_context, card)
        )
        return render_card(
            card,
            signed_data=sign_action_ref(card.action_id, self._tenant_id, self._secret),
            show_actions=show_actions,
            refresh_user_ids=refresh,
        )

    async def post(self, card: Card, targets: Sequence[str]) -> list[MessageRef]:
        conversation_ids = list(dict.fromkeys(targets)) or [self._default_conversation_id]
        refs: list[MessageRef] = []
        for conversation_id in conversation_ids:
            if not conversation_id:
                log.warning("teams.post.no_target", action_id=card.action_id)
                continue
            service_url = await self._service_url_for(conversation_id)
            if not service_url:
                log.warning("teams.post.unknown_conversation", action_id=card.action_id)
                continue
            try:
                activity_id = await self._send(service_url, conversation_id, card)
            except Exception as exc:  # one unreachable channel must not stop the others
                log.error("teams.post.failed", action_id=card.action_id, error=type(exc).__name__)
                continue
            refs.append(MessageRef("teams", conversation_id, activity_id, service_url))
            log.info("teams.post.sent", action_id=card.action_id, activity_id=activity_id)
        return refs

    async def update(self, refs: Sequence[MessageRef], card: Card) -> None:
        """Re-render the card onto every Teams copy. Idempotent: same card, same activity.

        A copy that is gone for good (activity deleted, bot removed: 400/403/404) is logged and
        skipped; any other failure (5xx after msrest's retries, 429, network, token) is raised
        after every other copy was tried, so the card job's retry re-applies the same state.
        """
        transient: Exception | None = None
        for ref in refs:
            if ref.platform != "teams":
                continue
            service_url = ref.service_url or await self._service_url_for(ref.channel_id)
            try:
                await self._replace(service_url, ref.channel_id, ref.message_id, card)
            except Exception as exc:
                status = _http_status(exc)
                log.error(
                    "teams.update.failed",
                    action_id=card.action_id,
                    activity_id=ref.message_id,
                    error=type(exc).__name__,
                    status=status,
                )
                if status not in GONE_STATUSES:
                    transient = exc
        if transient is not None:
            raise transient

    async def _service_url_for(self, conversation_id: str) -> str:
        if self._store is not None:
            for ref in await self._store.all():
                if conversation_id_of(ref) == conversation_id and ref.get("serviceUrl"):
                    return str(ref["serviceUrl"])
        if conversation_id == self._default_conversation_id:
            return self._default_service_url
        return ""

    def _reference(self, service_url: str, conversation_id: str) -> ConversationReference:
        return ConversationReference(
            channel_id="msteams",
            service_url=service_url,
            conversation=ConversationAccount(id=conversation_id, tenant_id=self._tenant_id),
            bot=ChannelAccount(id=f"28:{self._adapter.app_id}"),
        )

    async def _with_connector(
        self,
        service_url: str,
        conversation_id: str,
        call: Callable[[Any, TurnContext], Awaitable[None]],
    ) -> None:
        """Run `call(connector_client, turn_context)` in a proactive turn.

        The connector is called directly rather than through `TurnContext.send_activity`, which
        would turn the post into a reply to the synthetic continuation activity's id.
        """

        async def logic(turn_context: TurnContext) -> None:
            connector = turn_context.turn_state[self._adapter.BOT_CONNECTOR_CLIENT_KEY]
            await call(connector, turn_context)

        await self._adapter.continue_conversation(
            self._reference(service_url, conversation_id), logic, bot_app_id=self._adapter.app_id
        )

    def _activity(self, conversation_id: str, content: Json) -> Activity:
        activity = MessageFactory.attachment(CardFactory.adaptive_card(content))
        activity.conversation = ConversationAccount(id=conversation_id, tenant_id=self._tenant_id)
        activity.from_property = ChannelAccount(id=f"28:{self._adapter.app_id}")
        return activity

    async def _send(self, service_url: str, conversation_id: str, card: Card) -> str:
        sent: list[str] = []

        async def call(connector: Any, turn_context: TurnContext) -> None:
            activity = self._activity(conversation_id, await self.render(turn_context, card))
            response = await connector.conversations.send_to_conversation(conversation_id, activity)
            sent.append(str(getattr(response, "id", "") or ""))

        await self._with_connector(service_url, conversation_id, call)
        if not sent or not sent[0]:
            raise RuntimeError("connector returned no activity id")
        return sent[0]

    async def _replace(
        self, service_url: str, conversation_id: str, activity_id: str, card: Card
    ) -> None:
        async def call(connector: Any, turn_context: TurnContext) -> None:
            activity = self._activity(conversation_id, await self.render(turn_context, card))
            activity.id = activity_id
            await connector.conversations.update_activity(conversation_id, activity_id, activity)

        await self._with_connector(service_url, conversation_id, call)


def _http_status(exc: Exception) -> int | None:
    """The HTTP status of a connector error (msrest's `HttpOperationError.response`)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return status if isinstance(status, int) else None
