"""Run Alembic migrations programmatically (the CLI and `serve` call this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import approvals
from approvals.kit.db import private_sqlite_file


def migrations_dir() -> Path:
    packaged = Path(approvals.__file__).parent / "_migrations"
    return packaged if packaged.is_dir() else Path(approvals.__file__).parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    private_sqlite_file(database_url)  # before Alembic's engine makes SQLite create it 0644
    command.upgrade(alembic_config(database_url), revision)
