"""The `teams_conversations` table: one conversation reference per Teams conversation id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from approvals.kit.db import Base, JSONType, UTCDateTime


class TeamsConversation(Base):
    """Where the bot may post proactively: learned from `conversationUpdate`/`installationUpdate`.

    `reference` is botbuilder's serialised `ConversationReference` (service URL, conversation,
    bot account, tenant; never the installing user). Newest wins per conversation id.
    """

    __tablename__ = "teams_conversations"

    conversation_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    service_url: Mapped[str] = mapped_column(Text)
    reference: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
