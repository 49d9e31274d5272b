"""The signed action reference carried in every Teams card button's `data`. Pure.

An `Action.Execute` invoke echoes back whatever `data` the card carried, and anyone who can talk
to the bot endpoint with a valid Bot Framework token (any tenant with the app installed) can
craft one. The reference binds the action id to the tenant the card was posted to with an
HMAC-SHA256, so an invoke aimed at another request or replayed from another tenant is refused
before the core is asked anything.

Format (compact, URL-safe, no padding): ``v1.<b64(action_id)>.<b64(tenant_id)>.<b64(mac)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_VERSION = "v1"
# Domain separation: the same secret must never produce a MAC valid for another purpose.
_CONTEXT = b"approvals.teams.action-ref.v1\x00"
_MAX_LEN = 1024


class ActionRefError(ValueError):
    """The reference is malformed, forged, or bound to another tenant."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ActionRefError("malformed action reference") from exc


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _mac(action_id: bytes, tenant_id: bytes, secret: str | bytes) -> bytes:
    # Length-prefix both fields so ("ab", "c") and ("a", "bc") never share a MAC input.
    message = (
        _CONTEXT
        + len(action_id).to_bytes(4, "big")
        + action_id
        + len(tenant_id).to_bytes(4, "big")
        + tenant_id
    )
    return hmac.new(_key(secret), message, hashlib.sha256).digest()


def sign_action_ref(action_id: str, tenant_id: str, secret: str | bytes) -> str:
    """Return the compact reference for `action_id` posted into `tenant_id`."""
    if not action_id:
        raise ValueError("action_id must not be empty")
    if not secret:
        raise ValueError("secret must not be empty")
    aid = action_id.encode("utf-8")
    tid = tenant_id.encode("utf-8")
    return ".".join((_VERSION, _b64(aid), _b64(tid), _b64(_mac(aid, tid, secret))))


def verify_action_ref(token: str, tenant_id: str, secret: str | bytes) -> str:
    """Return the action id if `token` is authentic and bound to `tenant_id`; else raise."""
    if not isinstance(token, str) or not token or len(token) > _MAX_LEN:
        raise ActionRefError("missing or oversized action reference")
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _VERSION:
        raise ActionRefError("malformed action reference")
    aid, tid, mac = (_unb64(p) for p in parts[1:])
    if not hmac.compare_digest(mac, _mac(aid, tid, secret)):
        raise ActionRefError("action reference signature does not match")
    # Compared after the MAC so the answer never depends on unauthenticated bytes.
    if not hmac.compare_digest(tid, tenant_id.encode("utf-8")):
        raise ActionRefError("action reference belongs to another tenant")
    try:
        return aid.decode("utf-8")
    except UnicodeDecodeError as exc:  # pragma: no cover - only reachable with the secret
        raise ActionRefError("malformed action reference") from exc
