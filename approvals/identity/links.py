"""Step-up links from chat: a click on Approve, for a request that needs step-up, answers
with a link to the request's page that is short-lived (ten minutes), single-use, and bound to
the clicking chat identity and the request. Opened by anyone else, a second time, or late, it
leads nowhere. Only its hash is stored (as an attempt in flight, purpose `chat_link`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.errors import Forbidden
from approvals.identity.models import SignInAttempt
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.kit.identity import identity_key

LINK_TTL = timedelta(minutes=10)
PURPOSE = "chat_link"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


async def mint(db: async_sessionmaker[AsyncSession], *, action_id: str, identity: str) -> str:
    token = secrets.token_urlsafe(24)
    now = utc_now()
    async with transaction(db) as session:
        session.add(
            SignInAttempt(
                state_hash=_hash(token),
                nonce=_hash(identity_key(identity)),
                code_verifier="",
                next_path=f"/ui/actions/{action_id}",
                purpose=PURPOSE,
                session_id=None,
                created_at=now,
                expires_at=now + LINK_TTL,
            )
        )
    return token


async def redeem(db: async_sessionmaker[AsyncSession], token: str, *, identity: str) -> str:
    """The request page this link leads `identity` to; the link is spent either way."""
    async with transaction(db) as session:
        link = await session.get(SignInAttempt, _hash(token))
        if link is not None:
            await session.delete(link)
    if link is None or link.purpose != PURPOSE:
        raise Forbidden("this link was already used or is unknown; click Approve in chat again")
    if utc_now() >= link.expires_at:
        raise Forbidden("this link expired (links last ten minutes); click Approve in chat again")
    if link.nonce != _hash(identity_key(identity)):
        raise Forbidden("this link was made for the person who clicked it in chat, not for you")
    return link.next_path
