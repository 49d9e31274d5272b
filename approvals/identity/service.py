"""Open, find, close and revoke web sessions.

The browser holds 256 random bits; the table holds their SHA-256 (like API keys, a fast hash
suffices for random secrets), so a copy of the database opens no session. A session ends at
the first of: sign-out, an admin's revocation, `idle` without a request, `absolute` after it
opened, or (for a development API-key sign-in) the revocation of that key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.audit import service as audit_service
from approvals.clients import service as clients_service
from approvals.clients.models import Client
from approvals.config import Settings
from approvals.identity.models import WebSession
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.kit.identity import identity_key
from approvals.kit.ids import new_id

# Writing last_seen_at on every page view would turn reads into writes; a minute is enough
# resolution for an idle limit counted in minutes.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Limits:
    idle: timedelta
    absolute: timedelta


def limits(settings: Settings) -> Limits:
    return Limits(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_max_hours),
    )


@dataclass(frozen=True, slots=True)
class Opened:
    token: str  # for the cookie; never stored
    session: WebSession


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid session is: the row, and the API client behind a key sign-in."""

    session: WebSession
    client: Client | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def open_session(
    db: async_sessionmaker[AsyncSession],
    limits: Limits,
    *,
    identity: str,
    method: str,
    scopes: list[str],
    groups: list[str] | None = None,
    client_id: str | None = None,
    issuer: str | None = None,
    authenticated_at: datetime | None = None,
) -> Opened:
    token = secrets.token_urlsafe(32)
    now = utc_now()
    row = WebSession(
        id=new_id(),
        token_hash=hash_token(token),
        identity=identity_key(identity),
        method=method,
        client_id=client_id,
        scopes=scopes,
        groups=groups or [],
        issuer=issuer,
        authenticated_at=authenticated_at or now,
        created_at=now,
        last_seen_at=now,
        expires_at=now + limits.absolute,
        revoked_at=None,
        revoked_by=None,
    )
    async with transaction(db) as session:
        session.add(row)
        await session.flush()
        await audit_service.append(
            session,
            [
                audit_service.NewEvent(
                    "signed_in",
                    row.identity,
                    payload={"session_id": row.id, "method": method, "issuer": issuer},
                )
            ],
        )
    return Opened(token, row)


async def find(
    db: async_sessionmaker[AsyncSession], limits: Limits, token: str | None
) -> Principal | None:
    """The valid session behind a cookie value, or None; refreshes its idle clock."""
    if not token or len(token) > 100:
        return None
    now = utc_now()
    async with db() as session:
        row = (
            await session.execute(
                select(WebSession).where(WebSession.token_hash == hash_token(token))
            )
        ).scalar_one_or_none()
        if row is None or not _alive(row, limits, now):
            return None
        client = await session.get(Client, row.client_id) if row.client_id else None
    if row.client_id and (
        client is None or client.revoked_at is not None or clients_service.is_expired(client)
    ):
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        async with transaction(db) as session:
            await session.execute(
                update(WebSession).where(WebSession.id == row.id).values(last_seen_at=now)
            )
    return Principal(row, client)


def _alive(row: WebSession, limits: Limits, now: datetime) -> bool:
    return row.revoked_at is None and now < row.expires_at and now < row.last_seen_at + limits.idle


async def close(db: async_sessionmaker[AsyncSession], token: str | None) -> None:
    """Sign-out: the session is revoked server-side, so a copied cookie is worthless too."""
    if not token or len(token) > 100:
        return
    async with transaction(db) as session:
        row = (
            await session.execute(
                select(WebSession).where(WebSession.token_hash == hash_token(token))
            )
        ).scalar_one_or_none()
        if row is None or row.revoked_at is not None:
            return
        await _revoke(session, [row], actor=row.identity, why="signed_out")


async def revoke(
    db: async_sessionmaker[AsyncSession],
    *,
    actor: str,
    session_id: str | None = None,
    identity: str | None = None,
) -> int:
    """An admin ends one session (by id) or all of a person's; returns how many were active."""
    query = select(WebSession).where(WebSession.revoked_at.is_(None))
    if session_id is not None:
        query = query.where(WebSession.id == session_id)
    if identity is not None:
        query = query.where(WebSession.identity == identity_key(identity))
    async with transaction(db) as session:
        rows = list((await session.execute(query)).scalars())
        await _revoke(session, rows, actor=actor, why="revoked")
    return len(rows)


async def _revoke(session: AsyncSession, rows: list[WebSession], *, actor: str, why: str) -> None:
    if not rows:
        return
    now = utc_now()
    await session.execute(
        update(WebSession)
        .where(WebSession.id.in_([r.id for r in rows]))
        .values(revoked_at=now, revoked_by=actor)
    )
    await audit_service.append(
        session,
        [
            audit_service.NewEvent(
                f"session_{why}", actor, payload={"session_id": r.id, "identity": r.identity}
            )
            for r in rows
        ],
    )


async def list_sessions(
    db: async_sessionmaker[AsyncSession],
    limits: Limits,
    *,
    identity: str | None = None,
    include_ended: bool = False,
) -> list[WebSession]:
    query = select(WebSession).order_by(WebSession.created_at.desc()).limit(500)
    if identity is not None:
        query = query.where(WebSession.identity == identity_key(identity))
    async with db() as session:
        rows = list((await session.execute(query)).scalars())
    now = utc_now()
    return rows if include_ended else [r for r in rows if _alive(r, limits, now)]
