"""Settings: defaults, platform-fixed names, and .env.example listing every setting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

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


# --- production refuses a missing, placeholder or short APPROVALS_SECRET_KEY ---------------

GOOD_KEY = "3f9c1e7a5b2d8046e1c9a7f3b5d2e8041c6a9f7e3b5d1c8a2e4f6b9d0c7a5e31"


def _placeholders_shipped_in_the_repository() -> set[str]:
    """Every literal APPROVALS_SECRET_KEY value in deploy/ and .env.example (plus the one the
    issue found in an earlier compose.yaml)."""
    found = {"change-me-to-a-long-random-string"}
    for path in [ROOT / ".env.example", *sorted((ROOT / "deploy").rglob("*.y*ml"))]:
        assignments = r"^\s*APPROVALS_SECRET_KEY\s*[:=]\s*['\"]?([^\s'\"#]*)"
        for match in re.finditer(assignments, path.read_text(), re.M):
            value = match.group(1)
            if value and not value.startswith("$"):
                found.add(value)
    return found


def _production(**values: object) -> Settings:
    return Settings(_env_file=None, environment="production", **values)  # type: ignore[call-arg,arg-type]


@pytest.mark.parametrize("placeholder", sorted(_placeholders_shipped_in_the_repository()))
def test_production_refuses_the_placeholders_shipped_in_the_repository(placeholder: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _production(secret_key=placeholder)
    (error,) = refused.value.errors()
    assert "placeholder" in error["msg"]
    assert "openssl rand -hex 32" in error["msg"]
    assert "\n" not in error["msg"]


def test_the_repository_ships_the_placeholders_this_test_checks() -> None:
    assert "CHANGE-ME-to-64-random-hex-characters" in _placeholders_shipped_in_the_repository()


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (None, "is not set"),
        ("", "is not set"),
        ("0123456789abcdef0123456789abcde", "too short"),  # 31 bytes
        ("ab" * 32, "too repetitive"),
        ("please-changeme-" + GOOD_KEY, "placeholder"),
    ],
)
def test_production_refuses_a_missing_short_or_weak_secret_key(
    secret: str | None, reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason) as refused:
        _production(secret_key=secret)
    if secret:
        assert secret not in str(refused.value)


def test_production_accepts_a_random_key_and_development_needs_none() -> None:
    assert _production(secret_key=GOOD_KEY).secret_key is not None
    assert Settings(_env_file=None).secret_key is None  # type: ignore[call-arg]
    development = Settings(_env_file=None, secret_key="change-me")  # type: ignore[call-arg]
    assert development.environment == "development"


def _serve(tmp_path: Path, secret: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "APPROVALS_ENVIRONMENT": "production",
        "APPROVALS_SECRET_KEY": secret,
        "APPROVALS_DATA_DIR": str(tmp_path / "data"),
        "APPROVALS_PORT": "1",  # never bound: the start must stop before
    }
    return subprocess.run(
        [sys.executable, "-m", "approvals", "serve"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_serve_in_production_with_the_compose_placeholder_exits_with_one_line(
    tmp_path: Path,
) -> None:
    result = _serve(tmp_path, "change-me-to-a-long-random-string")
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: APPROVALS_SECRET_KEY is the placeholder from the examples")
    assert "openssl rand -hex 32" in line
    assert "change-me-to-a-long-random-string" not in line
    assert not (tmp_path / "data").exists()  # nothing was created before refusing


def test_serve_in_production_with_a_short_secret_exits_with_one_line(tmp_path: Path) -> None:
    result = _serve(tmp_path, "s3cr3t-but-short")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "too short" in line
    assert "s3cr3t-but-short" not in line
