"""`approvals serve`: the API, the web reviewer page and (embedded) in-process jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from approvals.cli.common import settings_or_exit, with_runtime
from approvals.cli.migrate import seal_stored_secrets
from approvals.kit.logging import configure_logging
from approvals.kit.private_files import private_dir

if TYPE_CHECKING:
    from approvals.clients.schemas import CreatedClient
    from approvals.runtime import Runtime

ADMIN_IDENTITY = "admin@approvals.local"


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (APPROVALS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (APPROVALS_PORT).")] = None,
) -> None:
    """Run the service (API, web reviewer page, and jobs when there is no Redis).

    With no configuration: SQLite under ./.approvals, the demo policy, jobs in-process, and
    an admin key printed on first start. With APPROVALS_DATABASE_URL (PostgreSQL) and
    APPROVALS_REDIS_URL set it is one API replica of the production service; run
    `approvals migrate` first and `approvals worker` beside it."""
    import uvicorn

    from approvals import migrate as migrations
    from approvals.app import create_app

    settings = settings_or_exit()
    if host:
        settings = settings.model_copy(update={"host": host})
    if port:
        settings = settings.model_copy(update={"port": port})
    configure_logging(settings)
    if settings.is_embedded:
        private_dir(settings.data_dir)
        migrations.upgrade(settings.resolved_database_url)
        seal_stored_secrets(settings)
        created = with_runtime(_first_admin, settings, prepare=False)
        if created is not None:
            _welcome(created, settings.base_url)
        typer.echo(f"data directory: {settings.data_dir.resolve()}", err=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,  # approvals.access logs each request with its route and request id
        log_config=None,  # uvicorn's records go through configure_logging's renderer
        # Forwarded headers are honoured by create_app, from APPROVALS_TRUSTED_PROXIES only;
        # uvicorn's own default would believe any proxy on 127.0.0.1.
        proxy_headers=False,
    )


async def _first_admin(runtime: Runtime) -> CreatedClient | None:
    from approvals.clients import service as clients_service
    from approvals.clients.schemas import Scope

    if await clients_service.list_clients(runtime.db):
        return None
    return await clients_service.create(
        runtime.db, name="admin", scopes=[Scope.ADMIN], identity=ADMIN_IDENTITY, actor="serve"
    )


def _welcome(created: CreatedClient, public_url: str) -> None:
    typer.secho(
        "\nFirst start: an admin API key was created. It is shown only once.",
        fg=typer.colors.GREEN,
        bold=True,
    )
    typer.echo(f"  api key: {created.api_key}")
    typer.echo(f"  web reviewer page: {public_url}/ui")
    typer.echo(f"  API docs: {public_url}/docs\n")
    typer.echo("Try it:")
    typer.echo(f"  export APPROVALS_KEY={created.api_key}")
    typer.echo(f'  curl -s {public_url}/v1/actions -H "Authorization: Bearer $APPROVALS_KEY" \\')
    typer.echo("    -H 'Content-Type: application/json' \\")
    typer.echo(
        '    -d \'{"action": "sql.execute", "resource": "db.prod.encounters", '
        '"requester": "svc:etl", "params": {"sql": "DELETE FROM encounters '
        "WHERE id = 7\"}}'\n"
    )
