"""`DatabaseConversationStore`: the Teams `ConversationStore` protocol on the core's database.

Owns reading and upserting `teams_conversations` rows. Insert-or-replace is portable (no
dialect upsert): read, then update or insert; a concurrent first insert of the same id (two
replicas handling the same installation) loses on the primary key and is retried as an update.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.channels.conversations.models import TeamsConversation
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction

log = structlog.get_logger(__name__)

ConversationRef = dict[str, Any]
MAX_ID_CHARS = 512


def _conversation_id(ref: ConversationRef) -> str:
    conversation = ref.get("conversation") or {}
    return str(conversation.get("id") or "") if isinstance(conversation, dict) else ""


class DatabaseConversationStore:
    """One reference per conversation id, newest wins; shared by every process on the database."""

    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self._db = db

    async def save(self, ref: ConversationRef) -> None:
        """Insert or replace the reference for `ref["conversation"]["id"]`."""
        key = _conversation_id(ref)
        if not key:
            raise ValueError("conversation reference without a conversation id")
        if len(key) > MAX_ID_CHARS:
            raise ValueError(f"conversation id longer than {MAX_ID_CHARS} characters")
        for attempt in range(2):
            try:
                await self._upsert(key, dict(ref))
                return
            except IntegrityError:
                if attempt:
                    raise
                log.info("teams.conversations.insert_raced")

    async def _upsert(self, key: str, ref: ConversationRef) -> None:
        now = utc_now()
        conversation = ref.get("conversation") or {}
        tenant = str(ref.get("tenantId") or conversation.get("tenantId") or "")
        service_url = str(ref.get("serviceUrl") or "")
        async with transaction(self._db) as session:
            row = await session.get(TeamsConversation, key, with_for_update=True)
            if row is None:
                session.add(
                    TeamsConversation(
                        conversation_id=key,
                        tenant_id=tenant,
                        service_url=service_url,
                        reference=ref,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                row.tenant_id, row.service_url = tenant, service_url
                row.reference, row.updated_at = ref, now
            await session.flush()

    async def all(self) -> list[ConversationRef]:
        async with self._db() as session:
            rows = await session.scalars(
                select(TeamsConversation).order_by(TeamsConversation.conversation_id)
            )
            return [dict(row.reference) for row in rows]
