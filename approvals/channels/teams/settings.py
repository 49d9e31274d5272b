"""The settings the Teams adapter reads, and how they are taken from the environment.

Names follow Bot Framework's own (`MicrosoftAppId`, ...) plus `APPROVALS_TEAMS_*`. The core's
`Settings` (fields `teams_app_id`, `teams_app_password: SecretStr`, ..., `environment`) is accepted
too: `TeamsSettings.coerce` maps it, so this package never imports the core's config.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

BOT_FRAMEWORK_OPENID_METADATA_URL = (
    "https://login.botframework.com/v1/.well-known/openidconfiguration"
)
AZURE_AD_LOGIN_PREFIX = "https://login.microsoftonline.com/"


@dataclass(frozen=True, slots=True)
class TeamsSettings:
    app_id: str = ""
    app_password: str = ""
    app_tenant_id: str = ""
    app_type: str = "SingleTenant"
    service_url: str = ""
    conversation_id: str = ""
    openid_metadata_url: str = BOT_FRAMEWORK_OPENID_METADATA_URL
    token_url: str = ""  # empty: Azure AD (login.microsoftonline.com/<tenant>)
    card_secret: str = ""  # empty: derived from the app password (see card_signing_key)
    development: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TeamsSettings:
        e = os.environ if env is None else env
        return cls(
            app_id=e.get("MicrosoftAppId", ""),
            app_password=e.get("MicrosoftAppPassword", ""),
            app_tenant_id=e.get("MicrosoftAppTenantId", ""),
            app_type=e.get("MicrosoftAppType", "SingleTenant") or "SingleTenant",
            service_url=e.get("APPROVALS_TEAMS_SERVICE_URL", ""),
            conversation_id=e.get("APPROVALS_TEAMS_CONVERSATION_ID", ""),
            openid_metadata_url=e.get("APPROVALS_TEAMS_OPENID_METADATA_URL", "")
            or BOT_FRAMEWORK_OPENID_METADATA_URL,
            token_url=e.get("APPROVALS_TEAMS_TOKEN_URL", ""),
            card_secret=e.get("APPROVALS_TEAMS_CARD_SECRET", ""),
            # Same variable and default as the core's Settings.environment.
            development=e.get("APPROVALS_ENVIRONMENT", "development").lower() == "development",
        )

    @classmethod
    def coerce(cls, obj: object) -> TeamsSettings:
        """`obj` itself if it is a TeamsSettings, else read from the core's Settings shape."""
        if isinstance(obj, TeamsSettings):
            return obj

        def text(name: str, default: str = "") -> str:
            value = getattr(obj, name, None)
            if value is None:
                return default
            secret = getattr(value, "get_secret_value", None)
            return str(secret() if callable(secret) else value)

        return cls(
            app_id=text("teams_app_id"),
            app_password=text("teams_app_password"),
            app_tenant_id=text("teams_app_tenant_id"),
            app_type=text("teams_app_type", "SingleTenant"),
            service_url=text("teams_service_url"),
            conversation_id=text("teams_conversation_id"),
            openid_metadata_url=text("teams_openid_metadata_url")
            or BOT_FRAMEWORK_OPENID_METADATA_URL,
            token_url=text("teams_token_url"),
            card_secret=text("teams_card_secret"),
            development=text("environment", "development").lower() == "development",
        )


def card_signing_key(settings: TeamsSettings) -> bytes:
    """The HMAC key for card action references.

    Derived from the app password when no explicit secret is set, so every replica agrees
    without one more secret to distribute; rotating the password invalidates open cards' buttons
    (the refresh and the web view still work). Development without a password gets a fixed key.
    """
    if settings.card_secret:
        return settings.card_secret.encode("utf-8")
    seed = settings.app_password or "approvals-development-only"
    return hmac.new(seed.encode("utf-8"), b"approvals.teams.card-ref", hashlib.sha256).digest()
