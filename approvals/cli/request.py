"""`approvals request`: submit an action from a script and (with --wait) exit by the verdict.

Exit codes: 0 approved (with --wait: released, and its token verified offline against the
service's JWKS for exactly these action, resource and params), 2 denied or blocked, 3 expired
or cancelled, 4 --timeout ran out (the request is cancelled then, unless --keep-pending; or it
was approved but not yet released), 1 error (including a release token that does not verify).
A service that cannot be reached is one line on stderr and exit 1. A CI step can gate on it
directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from approvals.cli.common import (
    DEFAULT_SERVER,
    ClientIdOption,
    IssuerOption,
    KeyOption,
    ServerOption,
    fail,
    print_json,
)
from approvals.client import Action, ApprovalsAPIError, ApprovalsClient, ReleaseNotVerified
from approvals.client._models import DECIDED_NO, DECIDED_OK, ENDED

EXIT_BY_OUTCOME = {
    **dict.fromkeys(DECIDED_OK, 0),
    **dict.fromkeys(DECIDED_NO, 2),
    **dict.fromkeys(ENDED, 3),
    "pending": 4,
}


def _params(pairs: list[str], json_file: Path | None) -> dict[str, Any]:
    params: dict[str, Any] = json.loads(json_file.read_text()) if json_file else {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--param takes KEY=VALUE, got {pair!r}")
        params[key] = value
    return params


def request(
    action: Annotated[str, typer.Option(help="What will run, e.g. sql.execute.")],
    resource: Annotated[str, typer.Option(help="What it runs on, e.g. db.prod.encounters.")],
    environment: Annotated[str, typer.Option(help="prod, staging, dev, ...")] = "prod",
    justification: Annotated[str | None, typer.Option(help="Why, for the reviewer.")] = None,
    on_behalf_of: Annotated[str | None, typer.Option(help="The person this runs for.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="A parameter as KEY=VALUE, e.g. sql='DELETE ...'; repeat for more."),
    ] = None,
    params_json: Annotated[Path | None, typer.Option(help="Parameters from a JSON file.")] = None,
    context_json: Annotated[
        Path | None, typer.Option(help="Context for reviewers from a JSON file (PHI is redacted).")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Retrying with the same key returns the same request.")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the verdict; exit by it.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 600.0,
    keep_pending: Annotated[
        bool,
        typer.Option(
            help="With --wait: leave the request pending for reviewers when --timeout runs "
            "out. Without it, a request still pending at the timeout is cancelled, so nobody "
            "approves an action this step has given up on."
        ),
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = None,
    client_id: ClientIdOption = None,
    issuer: IssuerOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the request as JSON.")] = False,
) -> None:
    """Ask for approval of one action; with --wait, exit by the outcome (for CI steps).

    --wait blocks until the request is released (and its token verified offline) or decided
    against. A request still pending at --timeout is cancelled (it leaves reviewers' queues),
    unless --keep-pending. Exit codes: 0 released, 2 denied or blocked, 3 expired or
    cancelled, 4 --timeout ran out (cancelled, or still pending with --keep-pending), 1 error
    (one line on stderr, e.g. the service cannot be reached)."""
    if not key:
        fail(
            "no API key: pass --key or set APPROVALS_KEY (create one with "
            "`approvals clients create NAME --scopes submit`)"
        )
    context = json.loads(context_json.read_text()) if context_json else None
    params = _params(param or [], params_json)
    timed_out = False
    result: Action | None = None
    try:
        with ApprovalsClient(server, key, client_id=client_id, issuer=issuer) as client:
            result = client.submit(
                action=action,
                resource=resource,
                environment=environment,
                justification=justification,
                on_behalf_of=on_behalf_of,
                params=params,
                context=context,
                idempotency_key=idempotency_key,
            )
            if not as_json:
                typer.echo(
                    f"{result.id}: {result.status} (risk {result.risk}, "
                    f"{result.required_approvals} approval(s) needed)",
                    err=True,
                )
            if wait and not result.settled:
                result = client.wait(result.id, timeout=timeout)
                timed_out = result.pending
                if timed_out and not keep_pending:
                    result = _give_up(client, result)
            if wait and result.granted and result.release_token:
                # The exit code is what a pipeline acts on: 0 only for a token that releases
                # exactly what this command submitted.
                claims = client.verify_release(
                    result, action_name=action, resource=resource, params=params
                )
                typer.echo(f"release token verified (key {claims.kid})", err=True)
    except ReleaseNotVerified as exc:
        fail(f"the release token does not verify ({exc.reason}): do not run the action")
    except ApprovalsAPIError as exc:
        fail(f"{exc.status} {exc.code}: {exc.detail}")
    except (httpx.TransportError, OSError) as exc:
        fail(
            f"cannot reach the approvals service at {server} ({type(exc).__name__}): start it "
            "(`approvals serve`) or point --server / APPROVALS_URL at it, then run this again"
            if result is None
            else f"lost the approvals service at {server} ({type(exc).__name__}) while waiting "
            f"for request {result.id}; its state is on {server}/ui"
        )
    _report(result, as_json)
    if wait and result.granted and not result.release_token:
        raise typer.Exit(4)  # approved, but the release was not minted before --timeout
    if timed_out and (result.pending or result.verdict == "cancelled"):
        raise typer.Exit(4)  # this step gave up: not "cancelled by someone" (3)
    outcome = result.verdict or result.status
    raise typer.Exit(EXIT_BY_OUTCOME.get(outcome, 1) if wait or not result.pending else 0)


def _give_up(client: ApprovalsClient, pending: Action) -> Action:
    """Cancel a request this step no longer waits for (as the SDK's decorator does)."""
    try:
        cancelled = client.cancel(pending.id)
    except ApprovalsAPIError:  # decided in the meantime: report what it is now
        return client.get(pending.id)
    typer.echo(f"{pending.id}: still pending at --timeout; cancelled", err=True)
    return cancelled


def _report(result: Action, as_json: bool) -> None:
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    who = f" by {result.decided_by}" if result.decided_by else ""
    why = f": {result.decision_reason}" if result.decision_reason else ""
    typer.echo(f"{result.verdict or result.status}{who}{why}")
