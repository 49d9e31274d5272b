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
    ConversationParameters,
    ConversationReference,
)

from approvals.channels.base import MessageRef, Notice, PostIncomplete, ReviewPort
from approvals.channels.cards import Card
from approvals.channels.teams.adapter import TeamsAdapter
from approvals.channels.teams.adaptive_cards import render_card, render_requester_notice
from approvals.channels.teams.roster import Roster, approver_ids, refresh_view
from approvals.channels.teams.signing import sign_action_ref
from approvals.channels.teams.store import ConversationStore, conversation_id_of
from approvals.kit.identity import identity_key

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

    @property
    def default_target(self) -> str:
        return self._default_conversation_id

    async def post(self, card: Card, targets: Sequence[str]) -> list[MessageRef]:
        """One copy per conversation; `PostIncomplete` after trying all if any failed."""
        conversation_ids = list(dict.fromkeys(targets)) or [self._default_conversation_id]
        refs: list[MessageRef] = []
        retry: dict[str, str] = {}
        gone: dict[str, str] = {}
        for conversation_id in conversation_ids:
            if not conversation_id:
                log.warning("teams.post.no_target", action_id=card.action_id)
                continue
            service_url = await self._service_url_for(conversation_id)
            if not service_url:
                # The bot was never installed there: nothing to post to until it is.
                log.warning("teams.post.unknown_conversation", action_id=card.action_id)
                gone[conversation_id] = "unknown_conversation"
                continue
            try:
                activity_id = await self._send(service_url, conversation_id, card)
            except Exception as exc:  # one unreachable channel must not stop the others
                status = _http_status(exc)
                log.error("teams.post.failed", action_id=card.action_id, error=type(exc).__name__)
                code = f"HTTP {status}" if status else type(exc).__name__
                (gone if status in GONE_STATUSES else retry)[conversation_id] = code
                continue
            refs.append(MessageRef("teams", conversation_id, activity_id, service_url))
            log.info("teams.post.sent", action_id=card.action_id, activity_id=activity_id)
        if retry or gone:
            raise PostIncomplete(refs, retry, gone)
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

    async def notify(self, email: str, notice: Notice) -> bool:
        """Message the person with this email in a 1:1 chat with the bot (`NotifiesPeople`).

        They are found by email in the rosters of the conversations the bot knows (the review
        channel and every channel it was added to); a person in none of them is not known to
        this bot, so False. Creating the 1:1 chat needs the app to be available to them
        (installed for the user, or in a team they belong to). Failures other than "gone"
        (400/403/404) propagate so the notice job retries.
        """
        wanted = identity_key(email)
        if not wanted:
            return False
        for conversation_id, service_url in (await self._known_conversations()).items():
            try:
                aad_id = await self._member_id(service_url, conversation_id, wanted)
            except Exception as exc:
                if _http_status(exc) not in GONE_STATUSES:
                    raise
                continue
            if aad_id is not None:
                await self._message_person(service_url, conversation_id, aad_id, notice, wanted)
                log.info(
                    "teams.requester_notified",
                    action_id=notice.action_id,
                    notice_event=notice.event,
                )
                return True
        return False

    async def _member_id(self, service_url: str, conversation_id: str, email: str) -> str | None:
        """The AAD object id of the member with this email (lower-case) in that conversation."""
        found: list[str] = []

        async def look(_connector: Any, turn_context: TurnContext) -> None:
            members = await self._roster.members(turn_context)
            found.extend(aad for aad, known in members.items() if known == email)

        await self._with_connector(service_url, conversation_id, look)
        return found[0] if found else None

    async def _known_conversations(self) -> dict[str, str]:
        """conversation id → service URL: references learned at installation (the first one
        with a service URL wins), then the configured default conversation."""
        known: dict[str, str] = {}
        if self._store is not None:
            for ref in await self._store.all():
                conversation_id = conversation_id_of(ref)
                if conversation_id and ref.get("serviceUrl"):
                    known.setdefault(conversation_id, str(ref["serviceUrl"]))
        if self._default_conversation_id and self._default_service_url:
            known.setdefault(self._default_conversation_id, self._default_service_url)
        return known

    async def _message_person(
        self, service_url: str, via: str, aad_id: str, notice: Notice, recipient: str
    ) -> None:
        """Open (or reuse: Teams returns the same 1:1 chat) the personal chat and post there;
        `via` is the conversation the person was found in, whose turn gives the connector."""
        content = render_requester_notice(notice, recipient)

        async def call(connector: Any, _turn_context: TurnContext) -> None:
            created = await connector.conversations.create_conversation(
                ConversationParameters(
                    is_group=False,
                    bot=ChannelAccount(id=f"28:{self._adapter.app_id}"),
                    members=[ChannelAccount(id=aad_id)],
                    tenant_id=self._tenant_id,
                    channel_data={"tenant": {"id": self._tenant_id}},
                )
            )
            personal = str(getattr(created, "id", "") or "")
            if not personal:
                raise RuntimeError("connector created no conversation")
            activity = self._activity(personal, content)
            await connector.conversations.send_to_conversation(personal, activity)

        await self._with_connector(service_url, via, call)

    async def _service_url_for(self, conversation_id: str) -> str:
        return (await self._known_conversations()).get(conversation_id, "")

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
