"""The identity JSON contract (admin views of sessions)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    identity: str
    method: str = Field(description="api_key (development sign-in) or sso (OpenID Connect).")
    scopes: list[str]
    groups: list[str]
    issuer: str | None
    authenticated_at: datetime
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None


class RevokedSessions(BaseModel):
    revoked: int = Field(description="How many active sessions this call ended.")
