"""Who clicked: a Slack user id resolved to an email and home workspace via `users.info`.

Owns a small TTL cache per Slack app instance (never module-global), so a burst of clicks
costs one `users.info` per reviewer and a changed profile is seen again within minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache
from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from approvals.kit.identity import identity_key

FOREIGN_WORKSPACE = "people from other workspaces (Slack Connect) cannot decide here."
NO_EMAIL = "your Slack profile has no email address the approvals service can check."
LOOKUP_FAILED = "your Slack identity could not be verified right now. Please try again."


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
        self._entries: TTLCache[str, SlackIdentity] = TTLCache(
            maxsize=max_entries, ttl=ttl_seconds, timer=clock
        )

    async def lookup(self, client: AsyncWebClient, user_id: str) -> SlackIdentity:
        hit = self._entries.get(user_id)
        if hit is not None:
            return hit
        response = await client.users_info(user=user_id)
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        email = profile.get("email")
        # The one spelling every comparison uses; a profile email that is not a valid
        # identity counts as none, so its owner is refused rather than matched loosely.
        email = identity_key(email) if isinstance(email, str) else ""
        identity = SlackIdentity(
            user_id=user_id,
            team_id=user.get("team_id"),
            email=email or None,
            is_bot=bool(user.get("is_bot")),
            deleted=bool(user.get("deleted")),
        )
        self._entries[user_id] = identity
        return identity


@dataclass(frozen=True, slots=True)
class Unverified:
    """Why a Slack user cannot act here: one clause, ready for "…: {why}"."""

    why: str
    error: str | None = None  # the Slack error code when users.info failed, for the log


async def verified_email(
    directory: SlackDirectory,
    client: AsyncWebClient,
    *,
    user_id: str,
    user_team_id: str | None,
    workspace: str | None,
) -> str | Unverified:
    """The email of a real, live member of `workspace`, or why not.

    `user_team_id` is what the signed payload claims (absent on some events); the home team
    from `users.info` is checked as well, so a Slack Connect guest is refused either way.
    """
    if workspace is None or user_team_id not in (None, workspace):
        return Unverified(FOREIGN_WORKSPACE)
    try:
        identity = await directory.lookup(client, user_id)
    except SlackApiError as error:
        return Unverified(LOOKUP_FAILED, error=error_code(error))
    if identity.team_id != workspace:
        return Unverified(FOREIGN_WORKSPACE)
    if identity.email is None or identity.is_bot or identity.deleted:
        return Unverified(NO_EMAIL)
    return identity.email


def workspace_of(context: AsyncBoltContext, allowed_team_id: str | None) -> str | None:
    """The workspace whose members may act: configured, else the bot token's own (auth.test)."""
    if allowed_team_id is not None:
        return allowed_team_id
    if context.authorize_result is not None:
        return context.authorize_result.team_id
    return None


def error_code(error: SlackApiError) -> str:
    """The Slack error code only: the full response may echo message content."""
    response = error.response
    code = response.get("error") if response is not None else None
    return str(code or "unknown")
