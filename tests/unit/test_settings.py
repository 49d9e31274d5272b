"""Settings: defaults, platform-fixed names, and .env.example listing every setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvals.audit.api import checkpoint_sinks
from approvals.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        names.add(str(choices[0]) if choices else f"APPROVALS_{name.upper()}")
    return names


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    listed = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert listed == _env_names()


def test_unset_database_url_means_sqlite_under_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("APPROVALS_DATABASE_URL", raising=False)
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.is_embedded
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/approvals.db"


def test_platform_names_are_read_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    monkeypatch.setenv("MicrosoftAppId", "app-id")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.slack_enabled
    assert settings.teams_app_id == "app-id"


def test_env_file_is_read(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("APPROVALS_PUBLIC_URL=https://approvals.example.org\n")
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert settings.public_url == "https://approvals.example.org"


def test_checkpoint_url_must_be_an_s3_url() -> None:
    settings = Settings(_env_file=None, audit_checkpoint_url="s3://approvals-audit/prod")  # type: ignore[call-arg]
    assert [sink.label for sink in checkpoint_sinks(settings)] == ["s3://approvals-audit/prod"]
    with pytest.raises(ValueError, match="audit_checkpoint_url"):
        Settings(_env_file=None, audit_checkpoint_url="https://bucket.example.org/prod")  # type: ignore[call-arg]
