"""`approvals reviewers passkeys list|revoke`: an admin's view of reviewers' passkeys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from approvals.cli.common import OperatorOption, operator_identity, print_json, with_runtime

if TYPE_CHECKING:
    from approvals.identity.models import Passkey
    from approvals.runtime import Runtime

app = typer.Typer(rich_markup_mode="markdown", help="Reviewers' credentials.", no_args_is_help=True)
passkeys = typer.Typer(
    rich_markup_mode="markdown", help="List and revoke reviewers' passkeys.", no_args_is_help=True
)
app.add_typer(passkeys, name="passkeys")


def _row(key: Passkey) -> dict[str, object]:
    return {
        "id": key.id,
        "identity": key.identity,
        "name": key.name,
        "credential_id": key.credential_id,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
    }


@passkeys.command("list")
def list_(
    identity: Annotated[str | None, typer.Option(help="Only this reviewer's passkeys.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Active passkeys: whose, what name, when registered and last used."""
    from approvals.identity import passkeys as passkeys_service

    async def work(runtime: Runtime) -> list[dict[str, object]]:
        return [
            _row(k) for k in await passkeys_service.list_passkeys(runtime.db, identity=identity)
        ]

    rows = with_runtime(work)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        used = row["last_used_at"] or "never used"
        typer.echo(f"{row['id']}  {row['identity']:32} {row['name']!s:20} {used}")


@passkeys.command()
def revoke(
    passkey_id: Annotated[str, typer.Argument(help="The passkey's id (from `list`).")],
    operator: OperatorOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Revoke a passkey at once: it confirms nothing more."""
    from approvals.identity import passkeys as passkeys_service

    actor = operator_identity(operator)

    async def work(runtime: Runtime) -> dict[str, object]:
        return _row(await passkeys_service.revoke(runtime.db, passkey_id, actor=actor))

    row = with_runtime(work)
    if as_json:
        print_json(row)
    else:
        typer.echo(f"revoked passkey {row['id']} of {row['identity']}")
