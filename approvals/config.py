"""Settings: one typed object read from the environment and `.env`, validated at start.

Nothing else in approvals reads os.environ. Names follow PRODUCT.md "Configuration";
platform-fixed names (SLACK_BOT_TOKEN, MicrosoftAppId, ...) are aliases.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    # --- intake limits ---
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    max_json_depth: int = Field(64, ge=4, le=512)
    max_wait_seconds: int = Field(60, ge=1, le=900)
    submit_rate_per_minute: int = Field(600, ge=1)
    submit_burst: int = Field(100, ge=1)

    # --- background work ---
    reconcile_interval_seconds: float = Field(5.0, gt=0)
    job_lease_seconds: int = Field(60, ge=5)

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

    # --- logging ---
    log_level: str = "INFO"
    log_json: bool = False

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
        return [part.strip() for part in self.callback_allow_addresses.split(",") if part.strip()]

    @property
    def is_embedded(self) -> bool:
        return self.database_url is None

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and self.slack_signing_secret is not None


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
