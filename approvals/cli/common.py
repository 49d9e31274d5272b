"""Helpers every command shares: settings, one-shot runtimes, JSON output, error exits."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

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


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def with_runtime(work: Callable[[Runtime], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run `work` against a short-lived Runtime; ApprovalsError becomes a clean exit 1."""

    async def _go() -> T:
        from approvals.runtime import Runtime

        runtime = Runtime(settings or load_settings())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(_go())
    except ApprovalsError as exc:
        fail(exc.detail)
