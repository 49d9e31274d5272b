"""Audit tables: the events (appended unsealed, then sealed into the chain), and the chain's head.

A request's transaction inserts an event with `seq`, `prev_hash` and `hash` NULL; the
sequencer (`approvals.audit.sequencer`) later gives it the next `seq` and links it. `id` is
the insertion order, never the chain order: see docs/audit.md "Sealing".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from approvals.kit.db import Base, JSONType, UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        # The sequencer's queue: only unsealed rows, so it stays as small as the backlog.
        Index(
            "ix_audit_events_unsealed",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    seq: Mapped[int | None] = mapped_column(_ID, unique=True)
    event_type: Mapped[str] = mapped_column(String(40), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(320), index=True)
    action_id: Mapped[str | None] = mapped_column(String(36), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain's tip. Only the sequencer moves it (under its lock), so seals never fork."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(_ID)
    last_hash: Mapped[str] = mapped_column(String(64))
