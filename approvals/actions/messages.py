"""Where each request's cards were posted: stored so every copy can be updated in place."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.actions import repository
from approvals.actions.models import CardMessage
from approvals.audit import service as audit_service
from approvals.audit.service import NewEvent
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.kit.ids import new_id


async def posted(db: async_sessionmaker[AsyncSession], action_id: str) -> list[CardMessage]:
    async with db() as session:
        return await repository.card_messages(session, action_id)


async def record_posted(
    db: async_sessionmaker[AsyncSession],
    action_id: str,
    refs: Sequence[tuple[str, str, str, str | None]],
) -> None:
    """Store (platform, channel, message, service_url) refs; one stored twice is kept once."""
    for platform, channel_id, message_id, service_url in refs:
        try:
            async with transaction(db) as session:
                session.add(
                    CardMessage(
                        id=new_id(),
                        action_id=action_id,
                        platform=platform,
                        channel_id=channel_id,
                        message_id=message_id,
                        service_url=service_url,
                        created_at=utc_now(),
                    )
                )
                await session.flush()
                await audit_service.append(
                    session,
                    [
                        NewEvent(
                            "card_posted",
                            f"system:{platform}",
                            action_id,
                            {"platform": platform, "channel": channel_id, "message": message_id},
                        )
                    ],
                )
        except IntegrityError:
            continue  # a duplicate job run already stored this copy


UNDELIVERABLE = "card_undeliverable"


async def undeliverable(
    db: async_sessionmaker[AsyncSession], action_id: str
) -> set[tuple[str, str]]:
    """(platform, channel) copies already given up on: the dead letters, read from the audit."""
    async with db() as session:
        events = await audit_service.events_for(session, action_id)
    return {
        (str(e.payload.get("platform")), str(e.payload.get("channel")))
        for e in events
        if e.event_type == UNDELIVERABLE
    }


async def record_undeliverable(
    db: async_sessionmaker[AsyncSession], action_id: str, platform: str, channel: str, error: str
) -> None:
    """Dead-letter one copy: audited with the platform's error code, never retried again."""
    async with transaction(db) as session:
        await audit_service.append(
            session,
            [
                NewEvent(
                    UNDELIVERABLE,
                    f"system:{platform}",
                    action_id,
                    {"platform": platform, "channel": channel, "error": error[:200]},
                )
            ],
        )
