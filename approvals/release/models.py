"""Release tables: the one token minted per approved request, and callback deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from approvals.kit.db import Base, UTCDateTime


class ReleaseToken(Base):
    """Primary key on the request: a second mint for the same request cannot be stored."""

    __tablename__ = "release_tokens"

    action_id: Mapped[str] = mapped_column(ForeignKey("action_requests.id"), primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    kid: Mapped[str] = mapped_column(String(100))
    token: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_detail: Mapped[str | None] = mapped_column(Text)


class CallbackDelivery(Base):
    """One event owed to a request's callback_url; its id is the receiver's de-duplication key."""

    __tablename__ = "callback_deliveries"
    __table_args__ = (UniqueConstraint("action_id", "event"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("action_requests.id"))  # leads a unique key
    event: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
