"""Which reviewer platforms this process talks to, from settings. Static: no entry points.

The web page needs no posting (it reads the database); chat platforms are enabled by their
credentials. This is the one place that knows every platform package: each platform is built
once per process, and gives the core its outbound Channel and the app its inbound router.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.channels.base import Channel, ReviewPort
from approvals.channels.conversations.store import DatabaseConversationStore
from approvals.channels.slack import SlackChannel, build_slack_app, build_web_client, slack_router
from approvals.channels.teams.app import build_teams_app
from approvals.config import Settings


@dataclass
class Platforms:
    channels: dict[str, Channel] = field(default_factory=dict)
    routers: list[APIRouter] = field(default_factory=list)


def build_platforms(
    settings: Settings, review: ReviewPort, db: async_sessionmaker[AsyncSession]
) -> Platforms:
    """Raises (refuses to start) on an unsafe platform set-up, e.g. Teams without an app id
    outside development."""
    platforms = Platforms()
    if settings.slack_bot_token is not None and settings.slack_signing_secret is not None:
        token = settings.slack_bot_token.get_secret_value()
        client = build_web_client(bot_token=token, api_url=settings.slack_api_url)
        platforms.channels["slack"] = SlackChannel(client, settings.slack_channel or "")
        platforms.routers.append(
            slack_router(
                build_slack_app(
                    bot_token=token,
                    signing_secret=settings.slack_signing_secret.get_secret_value(),
                    api_url=settings.slack_api_url,
                    review=review,
                    allowed_team_id=settings.slack_team_id,
                    web_url=settings.base_url,
                )
            )
        )
    if settings.teams_app_id or settings.teams_service_url:
        # References learned from installation events live in the database: they survive
        # restarts and every replica can post to a channel any of them was added to.
        teams = build_teams_app(settings, review, DatabaseConversationStore(db))
        platforms.channels["teams"] = teams.channel
        platforms.routers.append(teams.router)
    return platforms
