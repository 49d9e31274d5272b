"""Passkeys (WebAuthn, py `webauthn` 3.x): registration by a signed-in reviewer, assertion to
confirm a high-risk approval, listing and revocation.

Every ceremony's challenge is kept server-side as an attempt (`sign_in_attempts`, purpose
`passkey_register` or `passkey_step_up`) bound to the browser session, used once and for five
minutes at most. User verification is required in both ceremonies, so a passkey proves "the
person, now" (PIN or biometric), not only "this device". Only public keys are stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from approvals.audit import service as audit_service
from approvals.errors import Conflict, Forbidden, InvalidRequest, NotFound
from approvals.identity.models import Passkey, SignInAttempt
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.kit.identity import identity_key
from approvals.kit.ids import new_id

CEREMONY_TTL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """Who the passkeys are for: the host of APPROVALS_PUBLIC_URL, and that origin."""

    rp_id: str
    origin: str

    @classmethod
    def from_url(cls, public_url: str) -> RelyingParty:
        parts = urlsplit(public_url)
        return cls(rp_id=parts.hostname or "localhost", origin=f"{parts.scheme}://{parts.netloc}")


def _key(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


async def _remember(
    db: async_sessionmaker[AsyncSession],
    challenge: bytes,
    *,
    purpose: str,
    session_id: str,
    next_path: str,
) -> None:
    now = utc_now()
    async with transaction(db) as session:
        session.add(
            SignInAttempt(
                state_hash=_key(challenge),
                nonce="",
                code_verifier=bytes_to_base64url(challenge),
                next_path=next_path,
                purpose=purpose,
                session_id=session_id,
                created_at=now,
                expires_at=now + CEREMONY_TTL,
            )
        )


async def _take(
    db: async_sessionmaker[AsyncSession],
    credential: dict[str, Any],
    *,
    purpose: str,
    session_id: str,
    next_path: str,
) -> bytes:
    """The challenge this browser session was given for this purpose, consumed."""
    try:
        client_data = base64url_to_bytes(str(credential["response"]["clientDataJSON"]))
        challenge = base64url_to_bytes(str(json.loads(client_data)["challenge"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidRequest("that is not a WebAuthn response") from None
    async with transaction(db) as session:
        attempt = await session.get(SignInAttempt, _key(challenge))
        if attempt is not None:
            await session.delete(attempt)
    if (
        attempt is None
        or attempt.purpose != purpose
        or attempt.session_id != session_id
        or attempt.next_path != next_path
        or utc_now() >= attempt.expires_at
    ):
        raise Forbidden("this passkey prompt expired or was already used; try again")
    return challenge


async def registration_options(
    db: async_sessionmaker[AsyncSession], rp: RelyingParty, *, identity: str, session_id: str
) -> str:
    existing = await list_passkeys(db, identity=identity)
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name="approvals",
        user_name=identity,
        user_id=hashlib.sha256(identity.encode()).digest()[:32],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id)) for p in existing
        ],
    )
    await _remember(
        db, options.challenge, purpose="passkey_register", session_id=session_id, next_path=""
    )
    return options_to_json(options)


async def register(
    db: async_sessionmaker[AsyncSession],
    rp: RelyingParty,
    credential: dict[str, Any],
    *,
    identity: str,
    session_id: str,
    name: str,
) -> Passkey:
    challenge = await _take(
        db, credential, purpose="passkey_register", session_id=session_id, next_path=""
    )
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise Forbidden(f"the passkey could not be verified: {exc}") from None
    row = Passkey(
        id=new_id(),
        identity=identity_key(identity),
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        name=(name.strip() or "passkey")[:100],
        created_at=utc_now(),
        last_used_at=None,
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
                    "passkey_registered",
                    row.identity,
                    payload={"passkey_id": row.id, "credential_id": row.credential_id},
                )
            ],
        )
    return row


async def assertion_options(
    db: async_sessionmaker[AsyncSession],
    rp: RelyingParty,
    *,
    identity: str,
    session_id: str,
    next_path: str,
) -> str:
    """Options to confirm with one of `identity`'s passkeys; Conflict if they have none."""
    keys = await list_passkeys(db, identity=identity)
    if not keys:
        raise Conflict(
            "you have no passkey yet: register one under Passkeys (top right), then approve"
        )
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id)) for p in keys
        ],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    await _remember(
        db, options.challenge, purpose="passkey_step_up", session_id=session_id, next_path=next_path
    )
    return options_to_json(options)


async def confirm(
    db: async_sessionmaker[AsyncSession],
    rp: RelyingParty,
    credential: dict[str, Any],
    *,
    identity: str,
    session_id: str,
    next_path: str,
) -> Passkey:
    """Verify an assertion (user verified) by one of `identity`'s own active passkeys."""
    challenge = await _take(
        db, credential, purpose="passkey_step_up", session_id=session_id, next_path=next_path
    )
    async with db() as session:
        key = (
            await session.execute(
                select(Passkey).where(
                    Passkey.credential_id == str(credential.get("id", "")),
                    Passkey.revoked_at.is_(None),
                )
            )
        ).scalar_one_or_none()
    if key is None or key.identity != identity_key(identity):
        raise Forbidden("that passkey is not one of yours (or it was revoked)")
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=base64url_to_bytes(key.public_key),
            credential_current_sign_count=key.sign_count,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise Forbidden(f"the passkey confirmation was refused: {exc}") from None
    async with transaction(db) as session:
        await session.execute(
            update(Passkey)
            .where(Passkey.id == key.id)
            .values(sign_count=verified.new_sign_count, last_used_at=utc_now())
        )
    return key


async def list_passkeys(
    db: async_sessionmaker[AsyncSession], *, identity: str | None = None
) -> list[Passkey]:
    query = select(Passkey).where(Passkey.revoked_at.is_(None)).order_by(Passkey.created_at)
    if identity is not None:
        query = query.where(Passkey.identity == identity_key(identity))
    async with db() as session:
        return list((await session.execute(query)).scalars())


async def revoke(
    db: async_sessionmaker[AsyncSession],
    passkey_id: str,
    *,
    actor: str,
    owner: str | None = None,
) -> Passkey:
    """Revoke one passkey; with `owner`, only if it is theirs (a reviewer removing their own)."""
    async with transaction(db) as session:
        key = await session.get(Passkey, passkey_id)
        if (
            key is None
            or key.revoked_at is not None
            or (owner is not None and key.identity != identity_key(owner))
        ):
            raise NotFound("no such active passkey; see `approvals reviewers passkeys list`")
        key.revoked_at = utc_now()
        key.revoked_by = actor
        await audit_service.append(
            session,
            [
                audit_service.NewEvent(
                    "passkey_revoked",
                    actor,
                    payload={"passkey_id": key.id, "identity": key.identity},
                )
            ],
        )
    return key
