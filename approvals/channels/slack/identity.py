"""Who clicked: a Slack user id resolved to an email and home workspace via `users.info`.

Owns a small TTL cache per Slack app instance (never module-global), so a burst of clicks
costs one `users.info` per reviewer and a changed profile is seen again within minutes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient


@dataclass(frozen=True, slots=True)
class SlackIdentity:
    user_id: str
    team_id: str | None
    email: str | None
    is_bot: bool
    deleted: bool


class SlackDirectory:
    """`users.info` behind a bounded TTL cache. Errors (SlackApiError) are not cached."""

    def __init__(
        self,
        *,
        ttl_seconds: float = 300.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, SlackIdentity]] = OrderedDict()

    async def lookup(self, client: AsyncWebClient, user_id: str) -> SlackIdentity:
        now = self._clock()
        hit = self._entries.get(user_id)
        if hit is not None and hit[0] > now:
            self._entries.move_to_end(user_id)
            return hit[1]
        response = await client.users_info(user=user_id)
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        email = profile.get("email")
        identity = SlackIdentity(
            user_id=user_id,
            team_id=user.get("team_id"),
            email=email if isinstance(email, str) and email else None,
            is_bot=bool(user.get("is_bot")),
            deleted=bool(user.get("deleted")),
        )
        self._entries[user_id] = (now + self._ttl, identity)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return identity
