"""Who of a card's approvers is in a Teams conversation, as AAD object ids for `refresh.userIds`.

Teams shows a card's buttons only to the users listed in its `refresh` (they get a personal
view from the bot); everyone else keeps the read-only shared copy. The core knows approvers by
email; the conversation's roster (the connector's paged members list) maps them to AAD ids. Rosters
are cached per conversation for a few minutes: each card view by an approver triggers a
refresh, and a roster call per view would cost more than the card itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import structlog
from botbuilder.core import BotAdapter, TurnContext
from cachetools import TTLCache

from approvals.channels.base import ReviewPort
from approvals.channels.cards import Card
from approvals.kit.identity import identity_key

log = structlog.get_logger(__name__)

# Teams runs a card's automatic refresh for at most 60 listed users. With more approvers
# than that in one conversation, every member sees the buttons and the core alone decides.
MAX_REFRESH_USERS = 60
PAGE_SIZE = 500


class Roster:
    """AAD object id → email per conversation, from the connector, behind a bounded TTL cache.
    Failed lookups are not cached."""

    def __init__(
        self,
        *,
        ttl_seconds: float = 300.0,
        max_conversations: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: TTLCache[str, dict[str, str]] = TTLCache(
            maxsize=max_conversations, ttl=ttl_seconds, timer=clock
        )

    async def members(self, turn_context: TurnContext) -> dict[str, str]:
        conversation_id = str(turn_context.activity.conversation.id)
        hit = self._entries.get(conversation_id)
        if hit is not None:
            return hit
        # The connector directly, not TeamsInfo.get_paged_members: that one reads
        # `activity.channel_data`, which a proactive (continue_conversation) turn has not.
        connector = turn_context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY]
        found: dict[str, str] = {}
        token: str | None = None
        while True:
            page = await connector.conversations.get_teams_conversation_paged_members(
                conversation_id, PAGE_SIZE, token
            )
            for member in page.members or ():
                aad = getattr(member, "aad_object_id", None)
                email = getattr(member, "email", None) or getattr(
                    member, "user_principal_name", None
                )
                who = identity_key(str(email or ""))
                if aad and who:  # a member without a valid identity is nobody's match
                    found[str(aad)] = who
            token = page.continuation_token
            if not token:
                break
        self._entries[conversation_id] = found
        return found


async def approver_ids(
    roster: Roster, review: ReviewPort, turn_context: TurnContext, card: Card
) -> list[str] | None:
    """The AAD ids that should see the buttons, or None when everybody should (final cards
    get neither: they have no buttons). None also when the roster cannot be read: showing
    buttons to all is safe, because the core refuses everyone who may not vote."""
    if card.is_final:
        return []
    emails = {identity_key(e) for e in review.approvers_of(card)} - {""}
    try:
        members = await roster.members(turn_context)
    except Exception as exc:  # ErrorResponseException, network: degrade to buttons for all
        log.warning("teams.roster.unavailable", action_id=card.action_id, error=type(exc).__name__)
        return None
    ids = [aad for aad, email in members.items() if email in emails]
    return ids if len(ids) <= MAX_REFRESH_USERS else None


def refresh_view(ids: Sequence[str] | None) -> tuple[bool, Sequence[str]]:
    """(show_actions, refresh_user_ids) for the shared copy of a card."""
    return (ids is None, ids or ())
