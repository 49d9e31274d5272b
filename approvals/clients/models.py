"""The clients table: an API key is stored only as its SHA-256 hash, the webhook secret sealed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from approvals.kit.db import Base, JSONType, UTCDateTime


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    identity: Mapped[str] = mapped_column(String(320))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    callback_hosts: Mapped[list[str]] = mapped_column(JSONType)
    # Signs this client's callbacks (HMAC); shown once at creation, needed here to sign, so
    # stored sealed (`sealed:v1:…`, kit.secretbox); older rows in clear until `migrate` seals them.
    webhook_secret: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optional end of the key's life; `approvals clients rotate` issues a new key and date.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written at most once a minute (see clients.service.touch).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
