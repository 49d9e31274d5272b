"""Release tokens: mint and verify the EdDSA JWT that binds an approval to one exact payload.

Pure: no I/O, no clock of its own (callers pass `now`), no storage. Single use by `jti` is
enforced by the service that records execution, not here.
"""

from __future__ import annotations

import binascii
import hmac
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from approvals.release.keys import Keyring, b64url, b64url_decode

ALGORITHM = "EdDSA"
# Explicit typing (RFC 8725 §3.11): another EdDSA JWT signed by a key in the same JWKS
# can never pass for a release token.
TOKEN_TYPE = "approvals-release+jwt"  # noqa: S105 - a media type, not a secret
# Real tokens are under 1 KiB; the cap bounds the work an unauthenticated caller can cause.
MAX_TOKEN_LENGTH = 8192
DIGEST_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")


class Reason(StrEnum):
    MALFORMED = "malformed"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    WRONG_TYPE = "wrong_type"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    INVALID_CLAIMS = "invalid_claims"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    DIGEST_MISMATCH = "digest_mismatch"


class InvalidReleaseToken(Exception):
    """The token must not release anything; `reason` says why. Messages never echo the token."""

    code = "invalid_release_token"
    status = 401

    def __init__(self, reason: Reason, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail or reason.value.replace("_", " ")
        super().__init__(f"invalid release token: {self.detail}")


@dataclass(frozen=True)
class MintedToken:
    token: str
    jti: str
    kid: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class ReleaseClaims:
    issuer: str
    action_id: str
    audience: str
    jti: str
    kid: str
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    action: str
    resource: str
    payload_digest: str
    approvers: tuple[str, ...]


def mint_release_token(
    keyring: Keyring,
    *,
    issuer: str,
    action_id: str,
    audience_client_id: str,
    action: str,
    resource: str,
    payload_digest: str,
    approvers: Sequence[str],
    ttl_seconds: int,
    now: datetime,
    jti: str | None = None,
) -> MintedToken:
    """Sign with the keyring's active key. `jti` defaults to a random UUID."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    if not DIGEST_PATTERN.fullmatch(payload_digest):
        raise ValueError('payload_digest must look like "sha256:<64 lowercase hex>"')
    token_id = jti if jti is not None else str(uuid.uuid4())
    # Whole seconds: JWT NumericDate is seconds, and returned datetimes must equal the claims.
    issued = int(now.timestamp())
    expires = issued + ttl_seconds
    claims = {
        "iss": issuer,
        "sub": action_id,
        "aud": audience_client_id,
        "jti": token_id,
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "act": action,
        "res": resource,
        "dig": payload_digest,
        "apr": list(approvers),
    }
    kid = keyring.active.kid
    token = jwt.encode(
        claims,
        keyring.active.private_key,
        algorithm=ALGORITHM,
        headers={"kid": kid, "typ": TOKEN_TYPE},
    )
    return MintedToken(
        token=token,
        jti=token_id,
        kid=kid,
        issued_at=datetime.fromtimestamp(issued, UTC),
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


def verify_release_token(
    token: str,
    jwks_or_keyring: Mapping[str, Any] | Keyring,
    *,
    issuer: str,
    audience: str,
    expected_digest: str | None = None,
    now: datetime | None = None,
    leeway_seconds: int = 0,
) -> ReleaseClaims:
    """Check signature, type, issuer, audience, time window and (optionally) payload digest.

    Works offline from a JWKS dict (as served by GET /v1/keys) or from the server's keyring.
    Raises InvalidReleaseToken; any other exception here is a bug.
    """
    at = now if now is not None else datetime.now(UTC)
    header = _header(token)
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidReleaseToken(Reason.UNKNOWN_KEY, "token header has no kid")
    if isinstance(jwks_or_keyring, Keyring):
        public_key = jwks_or_keyring.public_key(kid, at)
    else:
        public_key = _key_from_jwks(jwks_or_keyring, kid)
    if public_key is None:
        raise InvalidReleaseToken(Reason.UNKNOWN_KEY, "no verification key with this kid")
    payload = _signed_payload(token, public_key)
    claims = _claims(payload, kid)
    if not hmac.compare_digest(claims.issuer, issuer):
        raise InvalidReleaseToken(Reason.WRONG_ISSUER)
    if not hmac.compare_digest(claims.audience, audience):
        raise InvalidReleaseToken(Reason.WRONG_AUDIENCE)
    moment = at.timestamp()
    # RFC 7519 §4.1.4: the token must not be accepted on or after exp.
    if moment >= claims.expires_at.timestamp() + leeway_seconds:
        raise InvalidReleaseToken(Reason.EXPIRED)
    if moment + leeway_seconds < claims.not_before.timestamp():
        raise InvalidReleaseToken(Reason.NOT_YET_VALID)
    if expected_digest is not None and not hmac.compare_digest(
        claims.payload_digest.encode(), expected_digest.encode()
    ):
        raise InvalidReleaseToken(Reason.DIGEST_MISMATCH, "token was issued for another payload")
    return claims


def _header(token: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidReleaseToken(Reason.MALFORMED, "token too long")
    segments = token.split(".")
    # Canonical base64url only: otherwise spare padding bits give one signed token many
    # spellings, and any stored token string would stop being a unique identifier.
    try:
        decoded = [b64url_decode(s) for s in segments]
        canonical = len(segments) == 3 and all(
            b64url(raw) == s for raw, s in zip(decoded, segments, strict=True)
        )
        # Parsed here rather than with jwt.get_unverified_header: PyJWT parses it again
        # in decode(), and its per-character checks dominate verification time.
        header = json.loads(decoded[0]) if canonical else None
    except (ValueError, binascii.Error, RecursionError):
        header = None
    if not isinstance(header, dict):
        raise InvalidReleaseToken(Reason.MALFORMED, "not a compact JWS")
    # Only EdDSA: this refuses "none", and HS256 forged with the public key as HMAC secret.
    if header.get("alg") != ALGORITHM:
        raise InvalidReleaseToken(Reason.UNSUPPORTED_ALGORITHM, "only EdDSA tokens are accepted")
    if header.get("typ") != TOKEN_TYPE:
        raise InvalidReleaseToken(Reason.WRONG_TYPE, "not a release token")
    if "crit" in header:
        # RFC 7515 §4.1.11: we understand no extensions, so any critical one must fail.
        raise InvalidReleaseToken(Reason.MALFORMED, "critical header extensions unsupported")
    return header


def _key_from_jwks(jwks: Mapping[str, Any], kid: str) -> Ed25519PublicKey | None:
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise InvalidReleaseToken(Reason.UNKNOWN_KEY, "JWKS has no keys list")
    for jwk in keys:
        if not isinstance(jwk, Mapping) or jwk.get("kid") != kid:
            continue
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
            continue
        try:
            return Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk.get("x", ""))))
        except (ValueError, binascii.Error):
            continue
    return None


def _signed_payload(token: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    # Time and audience checks are ours (with the caller's `now`); PyJWT checks the signature.
    options: Any = {
        "verify_signature": True,
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_aud": False,
        "verify_iss": False,
    }
    try:
        payload: dict[str, Any] = jwt.decode(
            token, public_key, algorithms=[ALGORITHM], options=options
        )
    except jwt.InvalidSignatureError as exc:
        raise InvalidReleaseToken(Reason.BAD_SIGNATURE) from exc
    except jwt.InvalidAlgorithmError as exc:
        raise InvalidReleaseToken(Reason.UNSUPPORTED_ALGORITHM) from exc
    except jwt.PyJWTError as exc:
        raise InvalidReleaseToken(Reason.MALFORMED, "token could not be decoded") from exc
    return payload


def _claims(payload: Mapping[str, Any], kid: str) -> ReleaseClaims:
    def text(name: str) -> str:
        value = payload.get(name)
        if not isinstance(value, str):
            raise InvalidReleaseToken(Reason.INVALID_CLAIMS, f"claim {name!r} must be a string")
        return value

    def moment(name: str) -> datetime:
        value = payload.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidReleaseToken(Reason.INVALID_CLAIMS, f"claim {name!r} must be an integer")
        try:
            return datetime.fromtimestamp(0, UTC) + timedelta(seconds=value)
        except OverflowError as exc:
            detail = f"claim {name!r} out of range"
            raise InvalidReleaseToken(Reason.INVALID_CLAIMS, detail) from exc

    approvers = payload.get("apr")
    if not isinstance(approvers, list) or not all(isinstance(a, str) for a in approvers):
        raise InvalidReleaseToken(Reason.INVALID_CLAIMS, "claim 'apr' must be a list of strings")
    digest = text("dig")
    if not DIGEST_PATTERN.fullmatch(digest):
        raise InvalidReleaseToken(Reason.INVALID_CLAIMS, "claim 'dig' is not a sha256 digest")
    return ReleaseClaims(
        issuer=text("iss"),
        action_id=text("sub"),
        audience=text("aud"),
        jti=text("jti"),
        kid=kid,
        issued_at=moment("iat"),
        not_before=moment("nbf"),
        expires_at=moment("exp"),
        action=text("act"),
        resource=text("res"),
        payload_digest=digest,
        approvers=tuple(approvers),
    )
