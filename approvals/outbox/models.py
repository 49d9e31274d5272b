"""The outbox: one row per piece of follow-up work, the durable record of a job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from approvals.kit.db import Base, UTCDateTime


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(36), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The X-Request-ID of the HTTP request whose transaction wrote this row: the job's log
    # lines carry it, so one id follows a submit from its access log line to its jobs.
    request_id: Mapped[str | None] = mapped_column(String(128))
    # W3C traceparent of the writing span (OpenTelemetry on): the job's span continues it.
    traceparent: Mapped[str | None] = mapped_column(String(128))
