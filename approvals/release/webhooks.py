"""Webhook signatures: `X-Approvals-Signature: t=<unix>,v1=<hex hmac-sha256(secret, "t.body")>`.

Pure: signs and verifies bytes with the caller's secret and clock. Delivery, retries and
dead letters live in callbacks.py.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

SIGNATURE_HEADER = "X-Approvals-Signature"
DELIVERY_HEADER = "X-Approvals-Delivery"
TIMESTAMP_HEADER = "X-Approvals-Timestamp"
EVENT_HEADER = "X-Approvals-Event"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


class SignatureFailure(StrEnum):
    MISSING = "missing"
    MALFORMED = "malformed"
    EXPIRED = "expired"
    FORGED = "forged"


class InvalidWebhookSignature(Exception):
    """The body must not be trusted; `reason` says why."""

    code = "invalid_webhook_signature"
    status = 401

    def __init__(self, reason: SignatureFailure, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(detail)


def generate_secret() -> str:
    """A new per-client signing secret (shown once at client creation)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _unix(moment: int | datetime) -> int:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        return int(moment.timestamp())
    return moment


def _mac(body: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},{SCHEME}={_mac(body, secret, timestamp)}"


def sign_all(body: bytes, secrets_: Sequence[str], timestamp: int) -> str:
    """One v1 per secret, for the overlap while a client rotates its secret."""
    if not secrets_:
        raise ValueError("at least one secret is needed")
    macs = ",".join(f"{SCHEME}={_mac(body, secret, timestamp)}" for secret in secrets_)
    return f"t={timestamp},{macs}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise InvalidWebhookSignature(SignatureFailure.MALFORMED, "expected key=value pairs")
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise InvalidWebhookSignature(SignatureFailure.MALFORMED, "bad timestamp")
            timestamp = int(value)
        elif key == SCHEME:
            signatures.append(value)
        # Unknown schemes are skipped so a future v2 can be sent beside v1.
    if timestamp is None:
        raise InvalidWebhookSignature(SignatureFailure.MALFORMED, "no timestamp (t=)")
    if not signatures:
        raise InvalidWebhookSignature(SignatureFailure.MALFORMED, "no v1 signature")
    return timestamp, signatures


def verify(
    body: bytes,
    header: str | None,
    secret: str | Sequence[str],
    now: int | datetime,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Return the signed timestamp, or raise InvalidWebhookSignature.

    Accepts when any v1 value matches any of the secrets (rotation on either side). The
    timestamp must be within `tolerance` seconds of `now`, both ways, to bound replays.
    """
    if not header:
        raise InvalidWebhookSignature(SignatureFailure.MISSING, f"no {SIGNATURE_HEADER} header")
    timestamp, signatures = _parse(header)
    if abs(_unix(now) - timestamp) > tolerance:
        raise InvalidWebhookSignature(
            SignatureFailure.EXPIRED, f"timestamp outside the {tolerance}s tolerance"
        )
    candidates = [secret] if isinstance(secret, str) else list(secret)
    matched = False
    for key in candidates:
        expected = _mac(body, key, timestamp).encode("ascii")
        for given in signatures:
            # Compare every pair (no early exit) so timing reveals nothing about which matched.
            matched |= hmac.compare_digest(expected, given.encode("utf-8"))
    if not matched:
        raise InvalidWebhookSignature(SignatureFailure.FORGED, "no signature matches the body")
    return timestamp


def build_headers(
    delivery_id: str,
    body: bytes,
    secret: str | Sequence[str],
    now: int | datetime,
    *,
    event: str | None = None,
) -> dict[str, str]:
    """Headers for one delivery attempt; re-sign on every retry so the timestamp stays fresh."""
    timestamp = _unix(now)
    signature = (
        sign(body, secret, timestamp)
        if isinstance(secret, str)
        else sign_all(body, secret, timestamp)
    )
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature,
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
    }
    if event is not None:
        headers[EVENT_HEADER] = event
    return headers
