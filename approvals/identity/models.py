"""Tables of the identity domain. A session's cookie value is stored only as its SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from approvals.kit.db import Base, JSONType, UTCDateTime


class WebSession(Base):
    """One signed-in browser. Valid while not revoked, before `expires_at` (absolute) and
    within the idle limit of `last_seen_at`."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    identity: Mapped[str] = mapped_column(String(320), index=True)
    method: Mapped[str] = mapped_column(String(20))  # api_key | sso
    # The API key a development sign-in used; its revocation ends the session too.
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id"))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    groups: Mapped[list[str]] = mapped_column(JSONType)
    issuer: Mapped[str | None] = mapped_column(String(300))
    # When the person last proved who they are (the id token's auth_time, or the key sign-in).
    authenticated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(320))


class SignInAttempt(Base):
    """One single sign-on in flight: what the callback must check, used once.

    Kept server-side (not in a signed cookie) so any replica can finish the sign-in without a
    shared secret, and so a state value can never be replayed: the callback deletes the row.
    The browser holds the state itself in a cookie, binding the callback to the browser that
    started the sign-in.
    """

    __tablename__ = "sign_in_attempts"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(200))
    next_path: Mapped[str] = mapped_column(String(500))
    # sign_in, or step_up (a fresh sign-in that confirms an approval for `session_id`).
    purpose: Mapped[str] = mapped_column(String(20))
    session_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Passkey(Base):
    """A reviewer's WebAuthn credential (public key only), used to confirm high-risk approvals."""

    __tablename__ = "passkeys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    identity: Mapped[str] = mapped_column(String(320), index=True)
    credential_id: Mapped[str] = mapped_column(String(400), unique=True)  # base64url
    public_key: Mapped[str] = mapped_column(Text)  # base64url COSE key
    sign_count: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(320))
