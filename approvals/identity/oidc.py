"""OpenID Connect single sign-on with Authlib: authorization code + PKCE (S256), state and
nonce checked, the id token verified against the issuer's keys, and the email claim (plus an
optional groups claim) become the reviewer.

`start` records the attempt server-side and returns the provider URL; `finish` consumes the
attempt (single use), exchanges the code, and refuses: a state that does not match the one
this browser was given, an unknown or stale attempt, an id token with a wrong nonce, issuer
or audience, an expired id token (30 s leeway), an unverified email, an email domain outside
`oidc_allowed_domains`. No transaction is open while the provider is called.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.config import Settings, comma_list
from approvals.errors import Unauthorized, Unavailable
from approvals.identity.models import SignInAttempt
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.kit.identity import identity_key

ATTEMPT_TTL = timedelta(minutes=10)
LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True)
class SignedIn:
    identity: str
    groups: list[str]
    issuer: str
    authenticated_at: datetime
    next_path: str
    purpose: str
    session_id: str | None
    started_at: datetime  # when the attempt began: a step-up's sign-in must be later


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


class SingleSignOn:
    """One configured provider. Built once per Runtime; fetches its metadata lazily."""

    def __init__(self, settings: Settings) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            raise ValueError("single sign-on needs APPROVALS_OIDC_ISSUER and _CLIENT_ID")
        self.issuer = settings.oidc_issuer.rstrip("/")
        secret = settings.oidc_client_secret
        registry = OAuth()
        registry.register(
            "sso",
            client_id=settings.oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.oidc_scopes,
                "code_challenge_method": "S256",
                "timeout": 10,
                # A public client (no secret) authenticates with PKCE alone.
                "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
            },
        )
        self._client: Any = registry.create_client("sso")
        self._domains = {d.lower() for d in comma_list(settings.oidc_allowed_domains)}
        self._groups_claim = settings.oidc_groups_claim

    async def start(
        self,
        db: async_sessionmaker[AsyncSession],
        *,
        redirect_uri: str,
        next_path: str,
        purpose: str = "sign_in",
        session_id: str | None = None,
        fresh: bool = False,
    ) -> tuple[str, str]:
        """(provider URL, state). `fresh` asks the provider to authenticate again now."""
        extra: dict[str, Any] = {"prompt": "login", "max_age": 0} if fresh else {}
        try:
            made = await self._client.create_authorization_url(redirect_uri, **extra)
        except (httpx.HTTPError, AuthlibBaseError, RuntimeError, ValueError) as exc:
            raise Unavailable(
                f"the single sign-on provider cannot be reached ({type(exc).__name__})"
            ) from None
        now = utc_now()
        async with transaction(db) as session:
            await session.execute(delete(SignInAttempt).where(SignInAttempt.expires_at < now))
            session.add(
                SignInAttempt(
                    state_hash=_hash(made["state"]),
                    nonce=made["nonce"],
                    code_verifier=made["code_verifier"],
                    next_path=next_path,
                    purpose=purpose,
                    session_id=session_id,
                    created_at=now,
                    expires_at=now + ATTEMPT_TTL,
                )
            )
        return str(made["url"]), str(made["state"])

    async def finish(
        self,
        db: async_sessionmaker[AsyncSession],
        *,
        state: str,
        browser_state: str | None,
        code: str,
        redirect_uri: str,
    ) -> SignedIn:
        if not browser_state or not hmac.compare_digest(state, browser_state):
            raise Unauthorized(
                "this sign-in was not started in this browser (state mismatch); start again"
            )
        attempt = await self._consume(db, state)
        try:
            token = await self._client.fetch_access_token(
                redirect_uri=redirect_uri, code=code, code_verifier=attempt.code_verifier
            )
            claims = await self._client.parse_id_token(
                token, nonce=attempt.nonce, leeway=LEEWAY_SECONDS
            )
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"the single sign-on provider cannot be reached ({type(exc).__name__})"
            ) from None
        except (AuthlibBaseError, JoseError) as exc:
            raise Unauthorized(f"the provider's answer was refused: {_why(exc)}") from None
        if claims is None:
            raise Unauthorized("the provider sent no id token; check the openid scope")
        return SignedIn(
            identity=self._email(claims),
            groups=self._groups(claims),
            issuer=self.issuer,
            authenticated_at=_auth_time(claims),
            next_path=attempt.next_path,
            purpose=attempt.purpose,
            session_id=attempt.session_id,
            started_at=attempt.created_at,
        )

    async def _consume(self, db: async_sessionmaker[AsyncSession], state: str) -> SignInAttempt:
        async with transaction(db) as session:
            attempt = await session.get(SignInAttempt, _hash(state))
            if attempt is not None:
                await session.delete(attempt)
        if attempt is None or attempt.purpose not in ("sign_in", "step_up"):
            raise Unauthorized("this sign-in link was already used or is unknown; start again")
        if utc_now() >= attempt.expires_at:
            raise Unauthorized("this sign-in took longer than 10 minutes; start again")
        return attempt

    def _email(self, claims: dict[str, Any]) -> str:
        email = identity_key(str(claims.get("email") or ""))  # the one spelling (kit.identity)
        if "@" not in email:
            raise Unauthorized(
                "the provider did not send an email address; ask for the email scope"
            )
        if claims.get("email_verified") is False:
            raise Unauthorized("the provider says this email address is not verified")
        if self._domains and email.rsplit("@", 1)[1] not in self._domains:
            raise Unauthorized("accounts of this email domain may not sign in here")
        return email

    def _groups(self, claims: dict[str, Any]) -> list[str]:
        if not self._groups_claim:
            return []
        found = claims.get(self._groups_claim)
        if isinstance(found, str):
            found = [found]
        if not isinstance(found, list):
            return []
        return sorted({str(g).strip() for g in found if str(g).strip()})[:100]


def _auth_time(claims: dict[str, Any]) -> datetime:
    """When the person authenticated: `auth_time`, else the token's issue time."""
    moment = claims.get("auth_time") or claims.get("iat")
    if isinstance(moment, int | float):
        return datetime.fromtimestamp(moment, tz=UTC)
    return utc_now()


def _why(exc: Exception) -> str:
    """Authlib's error names (expired_token, invalid_claim ...), never token contents."""
    name = getattr(exc, "error", None) or type(exc).__name__
    description = getattr(exc, "description", None)
    return f"{name}: {description}" if description else str(name)
