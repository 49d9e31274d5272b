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


def with_runtime(work: Callable[[Runtime], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run `work` against a short-lived Runtime; ApprovalsError becomes a clean exit 1."""

    async def _go() -> T:
        from approvals.runtime import Runtime

        runtime = Runtime(settings or settings_or_exit())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(_go())
    except ApprovalsError as exc:
        fail(exc.detail)
