"""The clients JSON contract."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Scope(StrEnum):
    SUBMIT = "submit"
    REVIEW = "review"
    AUDIT = "audit"
    ADMIN = "admin"


class ClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    identity: str
    scopes: list[Scope]
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    rotated_at: datetime | None = None


class CreatedClient(BaseModel):
    client_id: str
    api_key: str
    webhook_secret: str
    name: str
    identity: str
    scopes: list[Scope]
    expires_at: datetime | None = None
