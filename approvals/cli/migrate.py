"""`approvals migrate`: bring the database schema to the latest version."""

from __future__ import annotations

import typer

from approvals.cli.common import fail
from approvals.config import load_settings


def migrate() -> None:
    """Apply every pending migration to APPROVALS_DATABASE_URL (or the embedded SQLite file)."""
    from approvals import migrate as migrations

    settings = load_settings()
    if settings.is_embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        migrations.upgrade(settings.resolved_database_url)
    except Exception as exc:  # connection refused, bad URL: say what to check
        fail(f"migration failed ({type(exc).__name__}: {exc}); check APPROVALS_DATABASE_URL")
    typer.echo("database is up to date")
