"""Create, list, revoke and authenticate API clients.

A key is shown once, at creation; only its SHA-256 is stored. Keys carry 256 random bits,
so a fast hash is enough (no password stretching), and the lookup is by the hash through
a unique index: timing reveals nothing about the key itself. The webhook signing secret must be
read back to sign callbacks, so it is sealed instead (`kit.secretbox`, bound to the client id).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

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
    actor: str = "cli",
) -> CreatedClient:
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
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


async def list_clients(db: async_sessionmaker[AsyncSession]) -> list[Client]:
    async with db() as session:
        result = await session.execute(select(Client).order_by(Client.created_at))
        return list(result.scalars())


async def revoke(
    db: async_sessionmaker[AsyncSession], name_or_id: str, *, actor: str = "cli"
) -> Client:
    async with transaction(db) as session:
        client = (
            await session.execute(
                select(Client).where((Client.id == name_or_id) | (Client.name == name_or_id))
            )
        ).scalar_one_or_none()
        if client is None:
            raise NotFound(
                f"no client named or with id {name_or_id!r}; see `approvals clients list`"
            )
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


async def authenticate(session: AsyncSession, api_key: str) -> Client | None:
    """The active client owning `api_key`, or None (unknown or revoked)."""
    if not api_key.startswith(KEY_PREFIX) or len(api_key) > 200:
        return None
    digest = hash_key(api_key)
    client = (
        await session.execute(select(Client).where(Client.key_hash == digest))
    ).scalar_one_or_none()
    if client is None or not hmac.compare_digest(client.key_hash, digest):
        return None
    return None if client.revoked_at is not None else client
