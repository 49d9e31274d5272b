"""Create, list, rotate, revoke and authenticate API clients.

A key is shown once, at creation or rotation; only its SHA-256 is stored. Keys carry 256
random bits, so a fast hash is enough (no password stretching), and the lookup is by the hash
through a unique index: timing reveals nothing about the key itself. A key may expire; each
lifecycle event is audited with the operator who caused it (`actor`), never a bare "cli". The
webhook signing secret must be read back to sign callbacks, so it is sealed instead
(`kit.secretbox`, bound to the client id).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.audit import service as audit_service
from approvals.clients.models import Client
from approvals.clients.schemas import CreatedClient, Scope
from approvals.errors import Conflict, InvalidRequest, NotFound
from approvals.kit.clock import utc_now
from approvals.kit.db import secrets_of, transaction
from approvals.kit.identity import InvalidIdentity, normalise
from approvals.kit.ids import new_id

KEY_PREFIX = "apk_"
# last_used_at is a hint for operators, not a log: at most one write a minute per key.
_TOUCH_EVERY = timedelta(seconds=60)
# Keys this process has looked up lately: (database, key hash) → (client, monotonic time of
# the lookup). Only active keys are kept (an unknown key is looked up every time, so a new one
# works at once); an entry is trusted for `cache_seconds`, and revoke and rotate empty the
# whole map, so only another process's revocation can lag, by at most that long.
_KNOWN_MAX = 10_000
_known: dict[tuple[Any, str], tuple[Client, float]] = {}
_known_lock = threading.Lock()
# When this process last recorded a key's use (touch), so a trusted copy's stale
# last_used_at does not cause a write on every request.
_touched: dict[str, datetime] = {}


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    scopes: list[Scope] = []
    for raw in values:
        for part in raw.split(","):
            name = part.strip().lower()
            if not name:
                continue
            try:
                scope = Scope(name)
            except ValueError:
                allowed = ", ".join(s.value for s in Scope)
                raise InvalidRequest(f"unknown scope {name!r}; choose from {allowed}") from None
            if scope not in scopes:
                scopes.append(scope)
    if not scopes:
        raise InvalidRequest("give at least one scope, e.g. --scopes submit")
    return scopes


async def create(
    db: async_sessionmaker[AsyncSession],
    *,
    name: str,
    scopes: list[Scope],
    identity: str | None = None,
    callback_hosts: list[str] | None = None,
    actor: str = "system",
    expires_in: timedelta | None = None,
) -> CreatedClient:
    api_key = _new_key()
    expires_at = utc_now() + expires_in if expires_in else None
    webhook_secret = "whsec_" + secrets.token_urlsafe(32)
    client_id = new_id()
    try:
        who = normalise(identity or f"client:{name}")
    except InvalidIdentity as exc:
        given = "the identity given" if identity else "the default identity client:<name>"
        raise InvalidRequest(f"{given}: {exc}; pass another with --identity") from None
    try:
        async with transaction(db) as session:
            session.add(
                Client(
                    id=client_id,
                    name=name,
                    identity=who,
                    scopes=[s.value for s in scopes],
                    key_hash=hash_key(api_key),
                    key_prefix=api_key[: len(KEY_PREFIX) + 6],
                    callback_hosts=callback_hosts or [],
                    webhook_secret=secrets_of(session).seal(
                        webhook_secret, context=_webhook_context(client_id)
                    ),
                    created_at=utc_now(),
                    revoked_at=None,
                    expires_at=expires_at,
                )
            )
            await session.flush()
            await audit_service.append(
                session,
                [
                    audit_service.NewEvent(
                        "key_created",
                        actor,
                        payload={
                            "client_id": client_id,
                            "name": name,
                            "identity": who,
                            "scopes": [s.value for s in scopes],
                            "expires_at": expires_at.isoformat() if expires_at else None,
                        },
                    )
                ],
            )
    except IntegrityError:
        raise Conflict(f"a client named {name!r} already exists; pick another name") from None
    return CreatedClient(
        client_id=client_id,
        api_key=api_key,
        webhook_secret=webhook_secret,
        name=name,
        identity=who,
        scopes=scopes,
        expires_at=expires_at,
    )


def _webhook_context(client_id: str) -> str:
    return f"clients.webhook_secret:{client_id}"


def webhook_secret(session: AsyncSession, client: Client) -> str:
    """The client's callback signing secret in clear, from its sealed (or legacy) column."""
    if client.webhook_secret is None:
        return ""
    return secrets_of(session).open(client.webhook_secret, context=_webhook_context(client.id))


async def seal_stored_secrets(db: async_sessionmaker[AsyncSession]) -> int:
    """Seal rows stored in clear (before sealing existed) or under a previous secret key with
    the current key; `approvals migrate` runs it. Returns how many rows changed."""
    async with transaction(db) as session:
        box = secrets_of(session)
        rows = (await session.execute(select(Client.id, Client.webhook_secret))).all()
        stale = [(cid, stored) for cid, stored in rows if stored and not box.is_current(stored)]
        for client_id, stored in stale:
            context = _webhook_context(client_id)
            sealed = box.seal(box.open(stored, context=context), context=context)
            await session.execute(
                update(Client).where(Client.id == client_id).values(webhook_secret=sealed)
            )
    return len(stale)


def _new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def _find(session: AsyncSession, name_or_id: str) -> Client:
    client = (
        await session.execute(
            select(Client).where((Client.id == name_or_id) | (Client.name == name_or_id))
        )
    ).scalar_one_or_none()
    if client is None:
        raise NotFound(f"no client named or with id {name_or_id!r}; see `approvals clients list`")
    return client


async def rotate(
    db: async_sessionmaker[AsyncSession],
    name_or_id: str,
    *,
    actor: str,
    expires_in: timedelta | None = None,
) -> CreatedClient:
    """A new key for the same client (same id, identity, scopes and callback secret); the old
    key stops working at once. Without `expires_in` the key keeps no expiry."""
    forget_keys()
    try:
        return await _rotate(db, name_or_id, actor=actor, expires_in=expires_in)
    finally:
        forget_keys()


async def _rotate(
    db: async_sessionmaker[AsyncSession],
    name_or_id: str,
    *,
    actor: str,
    expires_in: timedelta | None,
) -> CreatedClient:
    api_key = _new_key()
    now = utc_now()
    expires_at = now + expires_in if expires_in else None
    async with transaction(db) as session:
        client = await _find(session, name_or_id)
        if client.revoked_at is not None:
            raise Conflict(f"client {client.name!r} is revoked; create a new one instead")
        await session.execute(
            update(Client)
            .where(Client.id == client.id)
            .values(
                key_hash=hash_key(api_key),
                key_prefix=api_key[: len(KEY_PREFIX) + 6],
                expires_at=expires_at,
                rotated_at=now,
                last_used_at=None,
            )
        )
        await audit_service.append(
            session,
            [
                audit_service.NewEvent(
                    "key_rotated",
                    actor,
                    payload={
                        "client_id": client.id,
                        "name": client.name,
                        "expires_at": expires_at.isoformat() if expires_at else None,
                    },
                )
            ],
        )
        await session.refresh(client)
        created = CreatedClient(
            client_id=client.id,
            api_key=api_key,
            webhook_secret=webhook_secret(session, client),
            name=client.name,
            identity=client.identity,
            scopes=[Scope(s) for s in client.scopes],
            expires_at=expires_at,
        )
    return created


async def list_clients(db: async_sessionmaker[AsyncSession]) -> list[Client]:
    async with db() as session:
        result = await session.execute(select(Client).order_by(Client.created_at))
        return list(result.scalars())


def forget_keys() -> None:
    """Drop every key this process trusts: the next request with each is looked up again."""
    with _known_lock:
        _known.clear()
        _touched.clear()


async def revoke(db: async_sessionmaker[AsyncSession], name_or_id: str, *, actor: str) -> Client:
    forget_keys()  # before and after: a lookup racing the commit must not outlive it
    try:
        return await _revoke(db, name_or_id, actor=actor)
    finally:
        forget_keys()


async def _revoke(db: async_sessionmaker[AsyncSession], name_or_id: str, *, actor: str) -> Client:
    async with transaction(db) as session:
        client = await _find(session, name_or_id)
        if client.revoked_at is None:
            await session.execute(
                update(Client).where(Client.id == client.id).values(revoked_at=utc_now())
            )
            await audit_service.append(
                session,
                [
                    audit_service.NewEvent(
                        "key_revoked", actor, payload={"client_id": client.id, "name": client.name}
                    )
                ],
            )
        await session.refresh(client)
        return client


async def authenticate(
    db: async_sessionmaker[AsyncSession], api_key: str, *, cache_seconds: float = 0.0
) -> Client | None:
    """The active client owning `api_key`, or None (unknown, revoked or expired).

    `cache_seconds` > 0: a key found active within that many seconds is trusted without a
    database read (APPROVALS_KEY_CACHE_SECONDS); its expiry date is still checked each time.
    The client returned then is shared: callers read it, never change it. A session is opened
    only to read: on a hit, none is (building one was 2 % of a submit's CPU).
    """
    if not api_key.startswith(KEY_PREFIX) or len(api_key) > 200:
        return None
    digest = hash_key(api_key)
    slot = (getattr(db.kw.get("bind"), "url", None), digest)  # per database the process uses
    if cache_seconds > 0:
        known = _known.get(slot)
        if known is not None and 0 <= time.monotonic() - known[1] < cache_seconds:
            return None if is_expired(known[0]) else known[0]
    looked_up = time.monotonic()
    async with db() as session:
        client = (
            await session.execute(select(Client).where(Client.key_hash == digest))
        ).scalar_one_or_none()
    if client is None or not hmac.compare_digest(client.key_hash, digest):
        return None
    if client.revoked_at is not None or is_expired(client):
        return None
    if cache_seconds > 0:
        with _known_lock:
            if len(_known) >= _KNOWN_MAX:
                _known.clear()
            _known[slot] = (client, looked_up)
    return client


def is_expired(client: Client, now: datetime | None = None) -> bool:
    return client.expires_at is not None and (now or utc_now()) >= client.expires_at


async def touch(db: async_sessionmaker[AsyncSession], client: Client) -> None:
    """Record that the key was just used, unless that was already recorded this minute."""
    now = utc_now()
    last = max(
        (t for t in (client.last_used_at, _touched.get(client.id)) if t is not None), default=None
    )
    if last is not None and now - last < _TOUCH_EVERY:
        return
    _touched[client.id] = now
    async with transaction(db) as session:
        await session.execute(update(Client).where(Client.id == client.id).values(last_used_at=now))
