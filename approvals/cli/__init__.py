"""The `approvals` command line: one Typer app, one module per command group.

Exit codes for scripts: 0 ok / approved, 1 error, 2 denied, 3 expired or cancelled.

`approvals redact` is a filter people put in pipelines and run once per document, so `main`
runs it straight from its own module, without Typer: importing every command (policy engine,
SQL parser, settings, logging) and Typer cost about a second before the first byte was read.
The full app is built on first use of `app` (PEP 562 module `__getattr__`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

_HELP = (
    "Human approval for privileged automation on regulated data.\n\n"
    "Start here: `approvals serve` runs everything on this machine (SQLite, web reviewer "
    "page, demo policy) and prints an admin API key on first start."
)


def _build() -> typer.Typer:
    import typer

    from approvals.cli import (
        audit,
        clients,
        mcp,
        migrate,
        policy,
        redact,
        report,
        request,
        serve,
        worker,
    )
    from approvals.config import load_settings
    from approvals.kit.logging import configure_logging

    app = typer.Typer(
        rich_markup_mode="markdown",
        name="approvals",
        help=_HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _setup() -> None:
        """Logs go to stderr for every command, so stdout is only the command's own output."""
        configure_logging(load_settings())

    app.command("serve")(serve.serve)
    app.command("migrate")(migrate.migrate)
    app.command("worker")(worker.worker)
    app.command("request")(request.request)

    @app.command("redact", help=f"{redact.SUMMARY}\n\n{redact.DESCRIPTION}")
    def _redact(
        jsonl: bool = typer.Option(False, "--jsonl", help=redact.JSONL_HELP),
        values_only: bool = typer.Option(False, "--values-only", help=redact.VALUES_ONLY_HELP),
    ) -> None:
        raise typer.Exit(code=redact.run(jsonl, values_only))

    app.add_typer(clients.app, name="clients")
    app.add_typer(policy.app, name="policy")
    app.add_typer(audit.app, name="audit")
    app.command("report")(report.report)
    app.command("mcp")(mcp.mcp)
    return app


_app: typer.Typer | None = None


def __getattr__(name: str) -> Any:
    global _app
    if name == "app":
        if _app is None:
            _app = _build()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    if sys.argv[1:2] == ["redact"]:  # the same command and options, without the other commands
        from approvals.cli import redact

        sys.exit(redact.main(sys.argv[2:]))
    __getattr__("app")()
