"""Assembles the Teams integration from settings: adapter, bot, channel and router.

The one entry point the core's composition root calls (`build_teams_app`), so everything
botbuilder-specific stays inside `approvals.channels.teams` (a move to the Microsoft 365 Agents
SDK replaces this package and nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from approvals.channels.base import ReviewPort
from approvals.channels.teams.adapter import TeamsAdapter, build_adapter
from approvals.channels.teams.inbound import ApprovalsTeamsBot
from approvals.channels.teams.outbound import TeamsChannel
from approvals.channels.teams.roster import Roster
from approvals.channels.teams.routes import teams_router
from approvals.channels.teams.settings import TeamsSettings, card_signing_key
from approvals.channels.teams.store import ConversationStore


@dataclass(frozen=True, slots=True)
class TeamsApp:
    settings: TeamsSettings
    adapter: TeamsAdapter
    bot: ApprovalsTeamsBot
    channel: TeamsChannel
    router: APIRouter


def build_teams_app(
    settings_like: object,
    review: ReviewPort,
    store: ConversationStore,
) -> TeamsApp:
    """Build the Teams integration; raises `TeamsConfigurationError` rather than start unsafe.

    `settings_like` is a `TeamsSettings` or the core's `Settings` (see `TeamsSettings.coerce`).
    Approvers (`review.approvers_of(card)`, by email) who are in a conversation's roster get
    the buttons through a refresh; everyone else sees a read-only copy.
    """
    settings = TeamsSettings.coerce(settings_like)
    secret = card_signing_key(settings)
    roster = Roster()  # one cache for posting and answering refreshes
    bot = ApprovalsTeamsBot(
        review, store, tenant_id=settings.app_tenant_id, secret=secret, roster=roster
    )
    adapter = build_adapter(settings, bot.on_turn)
    channel = TeamsChannel(
        adapter,
        tenant_id=settings.app_tenant_id,
        secret=secret,
        default_service_url=settings.service_url,
        default_conversation_id=settings.conversation_id,
        store=store,
        review=review,
        roster=roster,
    )
    return TeamsApp(settings, adapter, bot, channel, teams_router(adapter))
