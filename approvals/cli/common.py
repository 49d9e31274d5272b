"""Helpers every command shares: settings, one-shot runtimes, JSON output, error exits."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError

from approvals.config import Settings, load_settings
from approvals.errors import ApprovalsError

if TYPE_CHECKING:
    from approvals.runtime import Runtime


T = TypeVar("T")

# How the commands that talk to a running service (request, mcp) find it and authenticate.
ServerOption = Annotated[
    str, typer.Option("--server", envvar="APPROVALS_URL", help="The service's URL.")
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", envvar="APPROVALS_KEY", help="A key with the submit scope."),
]
ClientIdOption = Annotated[
    str | None,
    typer.Option(
        "--client-id",
        envvar="APPROVALS_CLIENT_ID",
        help="This key's client id: release tokens must be addressed to it.",
    ),
]
IssuerOption = Annotated[
    str | None,
    typer.Option(
        "--issuer",
        envvar="APPROVALS_ISSUER",
        help="The service's APPROVALS_PUBLIC_URL, when it differs from --server.",
    ),
]
DEFAULT_SERVER = "http://127.0.0.1:8000"

OperatorOption = Annotated[
    str | None,
    typer.Option(
        "--operator",
        envvar="APPROVALS_OPERATOR",
        help="Who runs this, for the audit trail (default: OS user@host).",
    ),
]


def operator_identity(given: str | None) -> str:
    """The person at the keyboard, as the audit trail names them: never just `cli`."""
    if given and given.strip():
        return given.strip()[:320]
    import getpass
    import socket

    return f"{getpass.getuser()}@{socket.gethostname()}"[:320]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def settings_problem(exc: ValidationError) -> str:
    """The settings errors on one line, by setting name, never with the offending value."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        where = ".".join(str(part) for part in error["loc"])
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def settings_or_exit() -> Settings:
    """The settings, or a one-line error and exit 2 when they are invalid."""
    try:
        return load_settings()
    except ValidationError as exc:
        fail(settings_problem(exc), code=2)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def with_runtime(
    work: Callable[[Runtime], Awaitable[T]],
    settings: Settings | None = None,
    *,
    prepare: bool = True,
) -> T:
    """Run `work` against a short-lived Runtime; ApprovalsError and database failures become a
    one-line error and exit 1. `prepare`: first make sure the database is there (see below)."""
    settings = settings or settings_or_exit()
    if prepare:
        prepare_database(settings)

    async def _go() -> T:
        from approvals.runtime import Runtime

        runtime = Runtime(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(_go())
    except ApprovalsError as exc:
        fail(exc.detail)
    except Exception as exc:
        problem = database_problem(exc, settings)
        if problem is None:
            raise
        fail(problem)


def data_location(settings: Settings) -> str:
    """Where a command's data lives, for messages: the SQLite file, or the URL sans password."""
    if settings.is_embedded:
        return str((settings.data_dir / "approvals.db").resolve())
    from sqlalchemy.engine import make_url

    try:
        return make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL: say so rather than print it (it may hold a secret)
        return "APPROVALS_DATABASE_URL (unparseable)"


def prepare_database(settings: Settings) -> None:
    """The embedded database is migrated as `serve` does it, but never created here: a command
    run outside the service's folder must not leave a stray empty `.approvals/` behind.
    A configured database (APPROVALS_DATABASE_URL) is migrated by `approvals migrate` only."""
    if not settings.is_embedded:
        return
    path = settings.data_dir / "approvals.db"
    if not path.is_file():
        fail(
            f"no approvals database at {path.resolve()}. Commands use the data directory "
            f"APPROVALS_DATA_DIR (default ./.approvals, relative to where they run): run this "
            "in the folder where `approvals serve` runs, or set APPROVALS_DATA_DIR or "
            "APPROVALS_DATABASE_URL to the service's (`approvals migrate` creates a new one here)."
        )
    from approvals import migrate as migrations

    try:
        migrations.upgrade(settings.resolved_database_url)
    except Exception as exc:
        kind = type(exc).__name__
        fail(f"cannot migrate {path.resolve()} ({kind}); is it an approvals database?")


def database_problem(exc: BaseException, settings: Settings) -> str | None:
    """A one-line account of a database failure, or None for anything else. Never the SQL or
    its parameters (SQLAlchemy's own message carries both: keys, secrets, request values)."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return None
    where = data_location(settings)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else ""
    if "no such table" in reason or ("relation" in reason and "does not exist" in reason):
        return f"the database {where} has no approvals schema ({reason}): run `approvals migrate`"
    kind = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
    if exc.connection_invalidated or "connect" in reason.lower():
        return (
            f"cannot connect to the database {where} ({kind}); check APPROVALS_DATABASE_URL "
            "and that the database server is up"
        )
    return f"the database {where} refused the command ({kind})"
