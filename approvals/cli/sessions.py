"""`approvals sessions list|revoke`: see and end web sign-ins (an admin's tools)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from approvals.cli.common import OperatorOption, fail, operator_identity, print_json, with_runtime
from approvals.identity.schemas import SessionRead

if TYPE_CHECKING:
    from approvals.runtime import Runtime

app = typer.Typer(
    rich_markup_mode="markdown",
    help="List and revoke web page sessions.",
    no_args_is_help=True,
)


@app.command("list")
def list_(
    identity: Annotated[str | None, typer.Option(help="Only this person's sessions.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Active sessions: who, how they signed in, when they were last seen."""
    from approvals.identity import service as identity_service

    async def work(runtime: Runtime) -> list[SessionRead]:
        rows = await identity_service.list_sessions(
            runtime.db, identity_service.limits(runtime.settings), identity=identity
        )
        return [SessionRead.model_validate(row) for row in rows]

    rows = with_runtime(work)
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    for row in rows:
        typer.echo(
            f"{row.id}  {row.identity:32} {row.method:8} "
            f"last seen {row.last_seen_at:%Y-%m-%d %H:%M} UTC"
        )


@app.command()
def revoke(
    session_id: Annotated[str | None, typer.Argument(help="The session's id.")] = None,
    identity: Annotated[
        str | None, typer.Option(help="End every session of this person instead.")
    ] = None,
    operator: OperatorOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """End a session (or all of a person's) at once: the next page view asks to sign in."""
    from approvals.identity import service as identity_service

    if (session_id is None) == (identity is None):
        fail("give a session id or --identity, not both")
    actor = operator_identity(operator)

    async def work(runtime: Runtime) -> int:
        return await identity_service.revoke(
            runtime.db, actor=actor, session_id=session_id, identity=identity
        )

    ended = with_runtime(work)
    if as_json:
        print_json({"revoked": ended})
    else:
        typer.echo(f"revoked {ended} session(s)")
