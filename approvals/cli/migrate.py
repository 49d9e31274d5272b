"""`approvals migrate`: bring the database schema to the latest version, then seal stored
secrets still in clear (rows from before sealing) or under a previous APPROVALS_SECRET_KEY."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer

from approvals.cli.common import fail, settings_or_exit
from approvals.kit.private_files import private_dir

if TYPE_CHECKING:
    from approvals.config import Settings


def migrate() -> None:
    """Apply every pending migration to APPROVALS_DATABASE_URL (or the embedded SQLite file)."""
    from approvals import migrate as migrations

    settings = settings_or_exit()
    if settings.is_embedded:
        private_dir(settings.data_dir)
    try:
        migrations.upgrade(settings.resolved_database_url)
    except Exception as exc:  # connection refused, bad URL: say what to check
        fail(f"migration failed ({type(exc).__name__}: {exc}); check APPROVALS_DATABASE_URL")
    sealed = seal_stored_secrets(settings)
    if sealed:
        typer.echo(f"sealed {sealed} stored webhook secrets with the current secret key")
    typer.echo("database is up to date")


def seal_stored_secrets(settings: Settings) -> int:
    """Seal what is stored in clear or under a previous key; the schema must be current."""
    from approvals.clients import service as clients_service
    from approvals.kit.db import create_engine, session_factory
    from approvals.kit.secretbox import SecretBoxError
    from approvals.runtime import secret_box

    async def run() -> int:
        engine = create_engine(settings.resolved_database_url, pool=False)
        try:
            db = session_factory(engine, secrets=secret_box(settings))
            return await clients_service.seal_stored_secrets(db)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except SecretBoxError as exc:
        fail(str(exc))
