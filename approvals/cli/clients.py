"""`approvals clients create|list|rotate|revoke`: API keys for pipelines, reviewers and
auditors. Each change is audited under the operator who ran it (`--operator`, default the OS
user@host), not under a generic "cli"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from approvals.cli.common import (
    OperatorOption,
    fail,
    operator_identity,
    print_json,
    with_runtime,
)
from approvals.clients.schemas import ClientRead, CreatedClient

if TYPE_CHECKING:
    from datetime import timedelta

if TYPE_CHECKING:
    from approvals.runtime import Runtime

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Create, list, rotate and revoke API clients (keys are shown once).",
    no_args_is_help=True,
)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="A unique name, e.g. nightly-etl.")],
    scopes: Annotated[
        str, typer.Option(help="Comma list of submit, review, audit, admin.")
    ] = "submit",
    identity: Annotated[
        str | None,
        typer.Option(help="The person or service this key acts as (an email for reviewers)."),
    ] = None,
    callback_host: Annotated[
        list[str] | None,
        typer.Option(help="A host this client's callback_url may use; repeat for more."),
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="The key expires after this long, e.g. 90d or 12h.")
    ] = None,
    operator: OperatorOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Create a client and print its API key and callback signing secret (shown once)."""

    from approvals.clients import service as clients_service

    lifetime = _lifetime(expires)
    actor = operator_identity(operator)

    async def work(runtime: Runtime) -> CreatedClient:
        return await clients_service.create(
            runtime.db,
            name=name,
            scopes=clients_service.parse_scopes([scopes]),
            identity=identity,
            callback_hosts=callback_host or [],
            actor=actor,
            expires_in=lifetime,
        )

    created = with_runtime(work)
    if as_json:
        print_json(
            {
                "client_id": created.client_id,
                "api_key": created.api_key,
                "webhook_secret": created.webhook_secret,
                "expires_at": created.expires_at.isoformat() if created.expires_at else None,
            }
        )
        return
    typer.echo(f"client {created.name} ({created.client_id}) acting as {created.identity}")
    typer.echo(f"scopes: {', '.join(s.value for s in created.scopes)}")
    typer.echo(f"api key (shown once): {created.api_key}")
    typer.echo(f"callback signing secret (shown once): {created.webhook_secret}")
    if created.expires_at:
        typer.echo(f"expires: {created.expires_at:%Y-%m-%d %H:%M} UTC")


def _lifetime(expires: str | None) -> timedelta | None:
    from datetime import timedelta

    from approvals.policy.schema import parse_duration

    if expires is None:
        return None
    try:
        return timedelta(seconds=parse_duration(expires))
    except ValueError as exc:
        fail(str(exc))


@app.command()
def rotate(
    name_or_id: Annotated[str, typer.Argument(help="The client's name or id.")],
    expires: Annotated[
        str | None, typer.Option(help="The new key expires after this long, e.g. 90d.")
    ] = None,
    operator: OperatorOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue a new key for a client (shown once); the old key stops working at once."""

    from approvals.clients import service as clients_service

    lifetime = _lifetime(expires)
    actor = operator_identity(operator)

    async def work(runtime: Runtime) -> CreatedClient:
        return await clients_service.rotate(
            runtime.db, name_or_id, actor=actor, expires_in=lifetime
        )

    created = with_runtime(work)
    if as_json:
        print_json(
            {
                "client_id": created.client_id,
                "api_key": created.api_key,
                "expires_at": created.expires_at.isoformat() if created.expires_at else None,
            }
        )
        return
    typer.echo(f"new api key for {created.name} (shown once): {created.api_key}")
    if created.expires_at:
        typer.echo(f"expires: {created.expires_at:%Y-%m-%d %H:%M} UTC")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List clients (never their keys)."""

    from approvals.clients import service as clients_service

    async def work(runtime: Runtime) -> list[ClientRead]:
        return [
            ClientRead.model_validate(c) for c in await clients_service.list_clients(runtime.db)
        ]

    rows = with_runtime(work)
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    for row in rows:
        if row.revoked_at:
            state = f"revoked {row.revoked_at:%Y-%m-%d}"
        elif row.expires_at:
            state = f"expires {row.expires_at:%Y-%m-%d %H:%M}"
        else:
            state = "active"
        used = f"used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        typer.echo(
            f"{row.name:24} {row.identity:32} {','.join(row.scopes):24} {row.key_prefix}…  "
            f"{state}; {used}"
        )


@app.command()
def revoke(
    name_or_id: Annotated[str, typer.Argument(help="The client's name or id.")],
    operator: OperatorOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Revoke a client's key at once: its next request gets 401."""

    from approvals.clients import service as clients_service

    actor = operator_identity(operator)

    async def work(runtime: Runtime) -> ClientRead:
        return ClientRead.model_validate(
            await clients_service.revoke(runtime.db, name_or_id, actor=actor)
        )

    row = with_runtime(work)
    if as_json:
        print_json(row.model_dump(mode="json"))
    else:
        typer.echo(f"revoked {row.name} ({row.id})")
