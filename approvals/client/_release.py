"""Offline verification of release tokens, shared by the sync and async clients.

Reuses the service's own pure code: `approvals.release.tokens` (signature, type, issuer,
audience, time window, digest) and `approvals.kit.canonical` (the digest the service binds),
so the SDK can never drift from what the service signs. Both are pure (no I/O, no
frameworks); an import-linter contract keeps them so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from approvals.client._models import Action, ReleaseNotVerified
from approvals.kit.canonical import digest
from approvals.release.keys import b64url_decode
from approvals.release.tokens import InvalidReleaseToken, ReleaseClaims, verify_release_token

# Released tokens may be checked a moment after a clock step on either side.
LEEWAY_SECONDS = 5


def as_sent(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """`params` as the service reads them: through JSON (tuples become lists, and so on).

    Raises TypeError for values JSON cannot carry, before anything is submitted.
    """
    try:
        value = json.loads(json.dumps(dict(params or {}), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"params must be JSON-serialisable: {exc}") from None
    return value  # type: ignore[no-any-return]


def payload_digest(action_name: str, resource: str, params: Mapping[str, Any] | None) -> str:
    """What the service binds into the token: canonical `action + resource + params`."""
    return digest({"action": action_name, "resource": resource, "params": as_sent(params)})


def verify(
    action: Action,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str | None,
    action_name: str,
    resource: str,
    params: Mapping[str, Any] | None,
) -> ReleaseClaims:
    """Raise ReleaseNotVerified unless `action.release_token` releases exactly this call."""
    token = action.release_token
    if not token:
        raise ReleaseNotVerified(
            "no_token",
            f"request {action.id} is {action.status} and carries no release token for this client",
            action.id,
        )
    try:
        claims = verify_release_token(
            token,
            jwks,
            issuer=issuer,
            audience=client_id if client_id is not None else _claimed_audience(token),
            expected_digest=payload_digest(action_name, resource, params),
            leeway_seconds=LEEWAY_SECONDS,
        )
    except InvalidReleaseToken as exc:
        raise ReleaseNotVerified(exc.reason.value, exc.detail, action.id) from None
    if claims.action_id != action.id:
        raise ReleaseNotVerified("wrong_request", "the token releases another request", action.id)
    if claims.action != action_name:
        raise ReleaseNotVerified("wrong_action", "the token releases another action", action.id)
    return claims


class ReleaseVerifier:
    """What checking a token needs, shared by both clients: who this client is (`client_id`,
    the token's audience), which service it trusts (`issuer`), and the JWKS it last read."""

    def __init__(self, base_url: str, client_id: str | None, issuer: str | None) -> None:
        self.client_id = client_id
        self.issuer = (issuer or base_url).rstrip("/")
        self._jwks: dict[str, Any] | None = None

    def _verify(
        self,
        action: Action,
        jwks: Mapping[str, Any],
        action_name: str,
        resource: str,
        params: Mapping[str, Any] | None,
    ) -> ReleaseClaims:
        return verify(
            action,
            jwks,
            issuer=self.issuer,
            client_id=self.client_id,
            action_name=action_name,
            resource=resource,
            params=params,
        )


def _claimed_audience(token: str) -> str:
    """Without a configured client id the audience is taken from the token itself.

    That check is then vacuous, but nothing is lost: the signature covers `aud`, the token
    came from this client's own authenticated read, and `sub` (the request id, unique per
    client) and the payload digest are still checked. Pass `client_id=` to pin it.
    """
    try:
        claims = json.loads(b64url_decode(token.split(".")[1]))
        audience = claims.get("aud") if isinstance(claims, dict) else None
    except (IndexError, ValueError):
        audience = None
    # A token without a readable audience fails the signature or claims checks first.
    return audience if isinstance(audience, str) else "\x00"
