"""The Bot Framework adapter behind `POST /teams/messages`: authentication in, tokens out.

Owns how botbuilder-core is configured (the only module that calls
`BotFrameworkAuthenticationFactory`) and the HTTP contract of the endpoint: every failure to
authenticate the caller is a 401 JSON answer, never a 500. botbuilder-core has no FastAPI
integration (its `CloudAdapter` lives in the aiohttp package), so `TeamsAdapter` subclasses
`CloudAdapterBase` and does what `CloudAdapter.process` does, minus aiohttp.

Outbound tokens: Azure AD through MSAL by default. MSAL only accepts https authorities with a
tenant path, so a loopback token endpoint (`token_url`) cannot be reached through the factory's
`to_channel_from_bot_login_url`; instead `TokenUrlCredentialFactory` (a
`ServiceClientCredentialsFactory`) posts the same client-credentials grant to `token_url`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import httpx
import jwt
import structlog
from botbuilder.core import CloudAdapterBase, TurnContext
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AppCredentials,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    BotFrameworkAuthenticationFactory,
    MicrosoftAppCredentials,
    PasswordServiceClientCredentialFactory,
    ServiceClientCredentialsFactory,
)

from approvals.channels.teams.settings import AZURE_AD_LOGIN_PREFIX, TeamsSettings

log = structlog.get_logger(__name__)

Json = dict[str, Any]
BotLogic = Callable[[TurnContext], Awaitable[None]]
BOT_FRAMEWORK_TOKEN_ISSUER = "https://api.botframework.com"  # noqa: S105 - an issuer URL


class TeamsConfigurationError(RuntimeError):
    """The Teams endpoint must not start with this configuration."""


class _TokenUrlCredentials(AppCredentials):  # type: ignore[misc]
    """Client-credentials grant against an explicit token URL, cached until shortly before expiry.

    Synchronous like botbuilder's own MSAL credentials: msrest calls it from its request pipeline.
    """

    def __init__(self, app_id: str, password: str, token_url: str, oauth_scope: str) -> None:
        super().__init__(app_id=app_id, oauth_scope=oauth_scope)
        self._password = password
        self._token_url = token_url
        self._token = ""
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def get_access_token(self, force_refresh: bool = False) -> str:
        with self._lock:
            if force_refresh or not self._token or time.monotonic() >= self._expires_at:
                scope = self.oauth_scope
                if not scope.endswith("/.default"):
                    scope += "/.default"
                response = httpx.post(
                    self._token_url,
                    timeout=10.0,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.microsoft_app_id,
                        "client_secret": self._password,
                        "scope": scope,
                    },
                )
                if response.status_code != HTTPStatus.OK:
                    raise PermissionError(f"token endpoint answered {response.status_code}")
                answer = response.json()
                self._token = str(answer["access_token"])
                # Renew a minute early so a token never expires between fetch and use.
                self._expires_at = time.monotonic() + float(answer.get("expires_in", 300)) - 60
            return self._token


class TokenUrlCredentialFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    def __init__(self, app_id: str, password: str, token_url: str) -> None:
        self._app_id = app_id
        self._password = password
        self._token_url = token_url
        self._cache: dict[str, _TokenUrlCredentials] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(app_id) and app_id == self._app_id

    async def is_authentication_disabled(self) -> bool:
        return not self._app_id

    async def create_credentials(  # login_endpoint/validate_authority: token_url replaces them
        self,
        app_id: str,
        oauth_scope: str,
        login_endpoint: str,  # noqa: ARG002
        validate_authority: bool,  # noqa: ARG002
    ) -> AppCredentials:
        if await self.is_authentication_disabled():  # development without an app id
            return MicrosoftAppCredentials.empty()
        if not await self.is_valid_app_id(app_id):
            raise PermissionError("credentials requested for another app id")
        scope = oauth_scope or AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
        if scope not in self._cache:  # one token cache per audience, like MSAL's
            self._cache[scope] = _TokenUrlCredentials(
                app_id, self._password, self._token_url, scope
            )
        return self._cache[scope]


def create_authentication(settings: TeamsSettings) -> BotFrameworkAuthentication:
    """Parameterized Bot Framework authentication pointed at the configured endpoints.

    Emulator and skill tokens are not accepted (no emulator metadata URL is configured, so
    their validation fails closed): only channel tokens issued by Bot Framework reach the bot.
    """
    if settings.token_url:
        credentials: ServiceClientCredentialsFactory = TokenUrlCredentialFactory(
            settings.app_id, settings.app_password, settings.token_url
        )
        login_url = settings.token_url
    else:
        credentials = PasswordServiceClientCredentialFactory(
            settings.app_id, settings.app_password, settings.app_tenant_id or None
        )
        login_url = AZURE_AD_LOGIN_PREFIX + (settings.app_tenant_id or "botframework.com")
    return BotFrameworkAuthenticationFactory.create(
        to_bot_from_channel_open_id_metadata_url=settings.openid_metadata_url,
        to_bot_from_channel_token_issuer=BOT_FRAMEWORK_TOKEN_ISSUER,
        to_channel_from_bot_login_url=login_url,
        to_channel_from_bot_oauth_scope=AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
        credential_factory=credentials,
    )


def _unauthorized(detail: str) -> tuple[int, Json]:
    return HTTPStatus.UNAUTHORIZED, {"error": "unauthorized", "detail": detail}


def _auth_failure_detail(exc: BaseException) -> str:
    # Fixed phrases: the answer never echoes token contents back to the caller.
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token expired"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "token signature is invalid"
    if isinstance(exc, IndexError | KeyError):
        return "token signed with an unknown key"
    if isinstance(exc, jwt.InvalidTokenError):
        return "malformed or invalid token"
    if isinstance(exc, PermissionError):
        return "token not issued for this bot"
    return "token could not be verified"


class TeamsAdapter(CloudAdapterBase):  # type: ignore[misc]
    """`CloudAdapterBase` for a FastAPI endpoint: `process(body, auth_header) -> (status, body)`."""

    def __init__(
        self, authentication: BotFrameworkAuthentication, logic: BotLogic, *, app_id: str
    ) -> None:
        super().__init__(authentication)
        self.app_id = app_id
        self._logic = logic

    async def process(self, body: Json, auth_header: str | None) -> tuple[int, Json | None]:
        try:
            activity = Activity().deserialize(body)
        except Exception:  # msrest raises several types for a wrong shape
            return HTTPStatus.BAD_REQUEST, {"error": "bad_request", "detail": "not an activity"}
        if not activity.type:
            return HTTPStatus.BAD_REQUEST, {"error": "bad_request", "detail": "activity.type"}

        header = (auth_header or "").strip() or None
        if header is None and self.app_id:
            return _unauthorized("missing Authorization header")
        try:
            auth = await self.bot_framework_authentication.authenticate_request(activity, header)
            if auth is None or auth.claims_identity is None:
                return _unauthorized("token could not be verified")
        except Exception as exc:  # every way botbuilder/PyJWT/requests can refuse: see NOTES.md
            log.warning(
                "teams.auth.refused", reason=type(exc).__name__, activity_type=activity.type
            )
            return _unauthorized(_auth_failure_detail(exc))

        try:
            response = await self.process_activity(auth, activity, self._logic)
        except Exception as exc:  # a bug or an outage behind the bot: no stack or body to Teams
            log.error("teams.turn.failed", activity_type=activity.type, error=type(exc).__name__)
            return HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal", "detail": "turn failed"}
        if response is None:
            return HTTPStatus.OK, None
        return int(response.status), response.body


def build_adapter(settings: TeamsSettings, logic: BotLogic) -> TeamsAdapter:
    """The adapter for `settings`; refuses configurations that would weaken authentication."""
    if not settings.app_id and not settings.development:
        raise TeamsConfigurationError(
            "MicrosoftAppId is empty: the Teams endpoint would accept unauthenticated traffic. "
            "Set MicrosoftAppId/MicrosoftAppPassword (or APPROVALS_ENVIRONMENT=development)."
        )
    if settings.app_id and not settings.app_password:
        raise TeamsConfigurationError("MicrosoftAppPassword is empty while MicrosoftAppId is set.")
    if not settings.app_tenant_id and not settings.development:
        raise TeamsConfigurationError(
            "MicrosoftAppTenantId is empty: approvals pins the bot to one tenant so a click "
            "from another organisation is refused."
        )
    return TeamsAdapter(create_authentication(settings), logic, app_id=settings.app_id)
