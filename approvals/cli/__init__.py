"""The `approvals` command line: one Typer app, one module per command group.

Exit codes for scripts: 0 ok / approved, 1 error (one line on stderr), 2 denied, 3 expired or
cancelled, 4 `request --wait` timed out.
"""

from __future__ import annotations

import typer
from pydantic import ValidationError

from approvals.cli import (
    audit,
    clients,
    mcp,
    migrate,
    policy,
    redact,
    report,
    request,
    reviewers,
    serve,
    sessions,
    worker,
)
from approvals.config import Settings, load_settings
from approvals.kit.logging import configure_logging

app = typer.Typer(
    rich_markup_mode="markdown",
    name="approvals",
    help="Human approval for privileged automation on regulated data.\n\n"
    "Start here: `approvals serve` runs everything on this machine (SQLite, web reviewer "
    "page, demo policy) and prints an admin API key on first start.\n\n"
    "Data: APPROVALS_DATABASE_URL, else the SQLite file in the data directory "
    "APPROVALS_DATA_DIR (default ./.approvals, relative to the folder a command runs in; "
    "`serve` prints its full path). Errors are one line on stderr and exit 1.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _setup() -> None:
    """Logs go to stderr for every command, so stdout is only the command's own output.

    Invalid settings do not stop commands that need none (`policy check`, `request`); the
    commands that do read them exit with the one-line error (`settings_or_exit`)."""
    try:
        settings = load_settings()
    except ValidationError:
        settings = Settings.model_construct()
    configure_logging(settings)


app.command("serve")(serve.serve)
app.command("migrate")(migrate.migrate)
app.command("worker")(worker.worker)
app.command("request")(request.request)
app.command("redact")(redact.redact)
app.add_typer(clients.app, name="clients")
app.add_typer(policy.app, name="policy")
app.add_typer(audit.app, name="audit")
app.add_typer(sessions.app, name="sessions")
app.add_typer(reviewers.app, name="reviewers")
app.command("report")(report.report)
app.command("mcp")(mcp.mcp)


def main() -> None:
    app()
