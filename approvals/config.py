"""Settings: one typed object read from the environment and `.env`, validated at start.

Nothing else in approvals reads os.environ. Names follow PRODUCT.md "Configuration";
platform-fixed names (SLACK_BOT_TOKEN, MicrosoftAppId, ...) are aliases.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from approvals.kit.extras import missing_extra

# The example values shipped in deploy/ (and any value built like them): a service started with
# one of these is using a secret printed in a public repository.
PLACEHOLDER_SECRETS = frozenset(
    {"change-me-to-a-long-random-string", "change-me-to-64-random-hex-characters"}
)
_PLACEHOLDER_WORDS = (
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replaceme",
    "placeholder",
)
MIN_SECRET_BYTES = 32
SECRET_KEY_FILE = "secret.key"  # noqa: S105  (a file name, not a secret)
_HOW = "set it to a random value, e.g. APPROVALS_SECRET_KEY=$(openssl rand -hex 32)"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="APPROVALS_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        # `cp .env.example .env` leaves most names empty (`APPROVALS_DATABASE_URL=`): an empty
        # value means unset, as in a shell, not an empty URL, path or secret.
        env_ignore_empty=True,
    )

    # --- core ---
    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path(".approvals")
    database_url: str | None = None
    redis_url: str | None = None
    policy_file: Path | None = None
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: SecretStr | None = None
    # Earlier secret keys, comma separated: they still open stored secrets sealed before a
    # rotation until `approvals migrate` has re-sealed them (docs/operations.md).
    previous_secret_keys: SecretStr | None = None
    # Connections each process keeps open, the extra ones it may open under load, how long a
    # request waits for one, and how long for a lock, before it is answered 503 + Retry-After.
    # Kept: 20, one per request of a typical agent load (16 at once) with room for the
    # sequencer and relay; each extra connection opened above it is closed when returned, so a
    # steady load above the pool opens a PostgreSQL backend per request (10 kept: 8 % fewer
    # submits/s at 16 connections, docs/benchmarks.md).
    database_pool_size: int = Field(20, ge=1, le=500)
    database_pool_overflow: int = Field(20, ge=0, le=500)
    database_pool_timeout_seconds: float = Field(10.0, gt=0, le=120)
    database_lock_timeout_seconds: float = Field(10.0, gt=0, le=120)

    # --- intake limits ---
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    max_json_depth: int = Field(64, ge=4, le=512)
    max_wait_seconds: int = Field(60, ge=1, le=900)
    submit_rate_per_minute: int = Field(600, ge=1)
    submit_burst: int = Field(100, ge=1)
    # How long a process trusts an API key it has looked up (0: look it up on every request).
    # A key revoked or rotated by another process stops working there within this time; in the
    # process that revoked it, and for an expiry date, at once (docs/security.md).
    key_cache_seconds: float = Field(5.0, ge=0, le=60)

    # --- background work ---
    reconcile_interval_seconds: float = Field(5.0, gt=0)
    job_lease_seconds: int = Field(60, ge=5)
    # The worker's /healthz, /readyz and /metrics (on APPROVALS_HOST); unset: not served.
    worker_health_port: int | None = Field(None, ge=1, le=65535)

    # --- release ---
    release_keys_dir: Path | None = None
    release_token_ttl_seconds: int = Field(900, ge=30, le=86400)
    callback_timeout_seconds: float = Field(10.0, gt=0, le=120)
    callback_horizon_seconds: int = Field(86400, ge=60)
    callback_allow_addresses: str = ""

    # --- audit ---
    audit_checkpoint_path: Path | None = None
    # s3://bucket/prefix; credentials and region from the standard AWS chain, never from here.
    audit_checkpoint_url: str | None = Field(None, pattern=r"^s3://[^/]+(/.*)?$")
    audit_s3_endpoint_url: str | None = None
    audit_checkpoint_interval_seconds: float = Field(300.0, gt=0)
    # The bound on how long an appended event waits to be sealed into the hash chain.
    audit_seal_interval_seconds: float = Field(0.2, gt=0, le=60)

    # --- web sign-in (docs/identity.md) ---
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    session_max_hours: int = Field(12, ge=1, le=24 * 30)
    # None: Secure in production, and in development whenever the request arrived over https
    # (directly, or as X-Forwarded-Proto from a trusted proxy).
    session_cookie_secure: bool | None = None
    # Comma list of proxy addresses (IPs or CIDRs) whose X-Forwarded-Proto/-For are believed.
    trusted_proxies: str = ""
    # Sign in to the web page by pasting an API key. None: allowed in development only.
    web_key_login: bool | None = None
    # OpenID Connect single sign-on; enabled when issuer and client id are set.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    # Comma lists; empty allows every email domain (the issuer is always checked).
    oidc_allowed_domains: str = ""
    oidc_groups_claim: str | None = None
    # Members of these groups (from the groups claim) may also read the audit pages.
    oidc_audit_groups: str = ""
    # How recent a sign-in must be to count as the fresh sign-in of step_up: oidc.
    step_up_max_age_seconds: int = Field(300, ge=30, le=3600)

    # --- logging and tracing ---
    log_level: str = "INFO"
    log_json: bool = False
    # OpenTelemetry traces (the [otel] extra): off unless the standard endpoint variable is set.
    otel_exporter_otlp_endpoint: str | None = Field(
        None, validation_alias=_alias("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    otel_service_name: str = Field("approvals", validation_alias=_alias("OTEL_SERVICE_NAME"))

    # --- Slack ---
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_alias("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_alias("SLACK_SIGNING_SECRET")
    )
    slack_api_url: str | None = Field(None, validation_alias=_alias("SLACK_API_URL"))
    slack_channel: str | None = None
    slack_team_id: str | None = None

    # --- Microsoft Teams ---
    teams_app_id: str | None = Field(None, validation_alias=_alias("MicrosoftAppId"))
    teams_app_password: SecretStr | None = Field(
        None, validation_alias=_alias("MicrosoftAppPassword")
    )
    teams_app_tenant_id: str | None = Field(None, validation_alias=_alias("MicrosoftAppTenantId"))
    teams_app_type: str = Field("MultiTenant", validation_alias=_alias("MicrosoftAppType"))
    teams_service_url: str | None = None
    teams_conversation_id: str | None = None
    teams_openid_metadata_url: str | None = None
    teams_token_url: str | None = None
    teams_card_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _extras_installed(self) -> Settings:
        """A configured feature whose extra is missing stops the start, with the pip line."""
        needed = [
            ("boto3", "s3", "APPROVALS_AUDIT_CHECKPOINT_URL", self.audit_checkpoint_url),
            (
                "opentelemetry.sdk",
                "otel",
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                self.otel_exporter_otlp_endpoint,
            ),
        ]
        for module, extra, feature, configured in needed:
            message = missing_extra(module, extra=extra, feature=feature) if configured else None
            if message:
                raise ValueError(message)
        return self

    @model_validator(mode="after")
    def _production_secret_key(self) -> Settings:
        """Production refuses a missing, placeholder or short APPROVALS_SECRET_KEY."""
        if self.environment is Environment.PRODUCTION:
            problem = secret_key_problem(self.secret_key)
            if problem is not None:
                raise ValueError(problem)
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'approvals.db').resolve()}"

    @property
    def base_url(self) -> str:
        """Where people reach this service: APPROVALS_PUBLIC_URL, else the bound address."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def keys_dir(self) -> Path:
        return self.release_keys_dir or self.data_dir / "keys"

    @property
    def callback_allowed_networks(self) -> list[str]:
        return comma_list(self.callback_allow_addresses)

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def trusted_proxy_list(self) -> list[str]:
        return comma_list(self.trusted_proxies)

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def key_login_allowed(self) -> bool:
        """Pasting an API key into the web page: a development convenience, not a sign-in."""
        return self.web_key_login if self.web_key_login is not None else not self.is_production

    @property
    def is_embedded(self) -> bool:
        """The SQLite default; must agree with `resolved_database_url` (an empty URL is none)."""
        return not self.database_url

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and self.slack_signing_secret is not None


def secret_key_problem(secret: SecretStr | None) -> str | None:
    """Why `secret` may not be the production secret key, in one line; None when it may."""
    if secret is None or not secret.get_secret_value().strip():
        return f"APPROVALS_SECRET_KEY is not set; production needs one: {_HOW}"
    value = secret.get_secret_value().strip()
    lowered = value.lower()
    if lowered in PLACEHOLDER_SECRETS or any(word in lowered for word in _PLACEHOLDER_WORDS):
        return f"APPROVALS_SECRET_KEY is the placeholder from the examples; {_HOW}"
    if len(value.encode("utf-8")) < MIN_SECRET_BYTES or len(set(value)) < 8:
        return (
            f"APPROVALS_SECRET_KEY is too short or too repetitive (needs {MIN_SECRET_BYTES}+ "
            f"random bytes); {_HOW}"
        )
    return None


def comma_list(value: str) -> list[str]:
    """A comma-separated setting's entries, trimmed, empty ones dropped."""
    return [part.strip() for part in value.split(",") if part.strip()]


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
