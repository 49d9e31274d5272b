"""`approvals audit verify|export|verify-export|checkpoint|public-key`: prove the trail intact.

Exit codes: 0 intact / valid, 1 broken, invalid or error.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from approvals.cli.common import fail, print_json, settings_or_exit, with_runtime

if TYPE_CHECKING:
    from approvals.audit.export import ExportSummary
    from approvals.audit.schemas import ChainStatusRead
    from approvals.runtime import Runtime


app = typer.Typer(
    rich_markup_mode="markdown",
    help="Verify and export the hash-chained audit trail.",
    no_args_is_help=True,
)

FromOpt = Annotated[
    datetime | None, typer.Option("--from", help="Start (inclusive), e.g. 2026-11-01; UTC.")
]
ToOpt = Annotated[datetime | None, typer.Option("--to", help="End (exclusive); UTC.")]


@app.command()
def verify(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Seal waiting events, then walk the whole chain (and the checkpoint sinks); exit 1 if
    broken."""
    from approvals.audit import sequencer
    from approvals.audit.api import chain_status

    async def work(runtime: Runtime) -> ChainStatusRead:
        # This may be the only process running (no server, no worker): seal what waits first.
        await sequencer.seal_all(runtime.db)
        return await chain_status(runtime)

    status = with_runtime(work)
    if as_json:
        print_json(status.model_dump(mode="json"))
    elif status.broken is None:
        checkpoints = (
            f"{status.checkpoints_matched} signed checkpoints agree"
            if status.checkpoint_stores
            else "no external checkpoint store configured"
        )
        typer.echo(
            f"intact: {status.events_checked} events sealed (1–{status.head_seq}), "
            f"{status.pending_events} waiting to be sealed, {checkpoints}"
        )
    else:
        typer.secho(
            f"BROKEN at event {status.broken.seq} ({status.broken.kind}): {status.broken.problem}",
            fg=typer.colors.RED,
            err=True,
        )
    if not status.intact:
        raise typer.Exit(1)


@app.command("export")
def export_(
    output: Annotated[Path, typer.Option("-o", "--output", help="The .jsonl file to write.")],
    start: FromOpt = None,
    end: ToOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write events of [from, to) as JSON Lines, closed by a signed (Ed25519) checkpoint."""
    from approvals.audit import checkpoints, sequencer
    from approvals.audit.api import utc
    from approvals.audit.export import export

    settings = settings_or_exit()
    signer = checkpoints.signer_for(settings.data_dir)
    partial = output.with_name(output.name + ".partial")

    async def work(runtime: Runtime) -> ExportSummary:
        await sequencer.seal_all(runtime.db)  # perhaps the only process running
        with partial.open("w", encoding="utf-8") as out:
            async with runtime.db() as session:
                return await export(session, out, signer, start=utc(start), end=utc(end))

    try:
        summary = with_runtime(work, settings)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(output)  # a reader never sees a half-written export
    if as_json:
        print_json({**asdict(summary), "file": str(output)})
    else:
        typer.echo(
            f"exported {summary.events} events ({summary.first_seq}–{summary.last_seq}) to "
            f"{output}, signed by {summary.kid}; {summary.pending_events} not sealed yet"
        )


@app.command("verify-export")
def verify_export_(
    file: Annotated[Path, typer.Argument(help="An export written by `approvals audit export`.")],
    public_key: Annotated[
        Path | None,
        typer.Option(help="The signer's public key (PEM or base64) to prove who signed it."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check an export offline (no database): every link, the signature, nothing cut."""
    from approvals.audit import signing
    from approvals.audit.export import verify_export

    try:
        pinned = signing.parse_public_key(public_key.read_text()) if public_key else None
    except (OSError, ValueError) as exc:
        fail(f"cannot read the public key: {exc}")
    try:
        with file.open(encoding="utf-8") as lines:
            result = verify_export(lines, pinned)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    if as_json:
        print_json(asdict(result))
    elif result.valid:
        origin = "pinned key" if result.key_pinned else "embedded key (pass --public-key to pin)"
        typer.echo(
            f"valid: {result.events} events ({result.first_seq}–{result.last_seq}), "
            f"signed by {result.kid}, {origin}"
        )
    else:
        where = f" at event {result.seq}" if result.seq is not None else ""
        typer.secho(f"INVALID{where}: {result.problem}", fg=typer.colors.RED, err=True)
    if not result.valid:
        raise typer.Exit(1)


@app.command()
def checkpoint(
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="The checkpoint file; default: APPROVALS_AUDIT_CHECKPOINT_PATH. "
            "APPROVALS_AUDIT_CHECKPOINT_URL (S3), when set, is written too.",
        ),
    ] = None,
) -> None:
    """Store one signed checkpoint of the chain head in every sink (for cron)."""
    from approvals.audit import checkpoints, sequencer
    from approvals.audit.api import checkpoint_sinks

    settings = settings_or_exit()
    sinks = checkpoint_sinks(settings, output)
    if not sinks:
        fail(
            "set APPROVALS_AUDIT_CHECKPOINT_PATH or APPROVALS_AUDIT_CHECKPOINT_URL, or pass -o FILE"
        )
    signer = checkpoints.signer_for(settings.data_dir)

    async def work(runtime: Runtime) -> checkpoints.Written:
        await sequencer.seal_all(runtime.db)  # perhaps the only process running
        return await checkpoints.write(runtime.db, sinks, signer)

    try:
        written = with_runtime(work, settings)
    except checkpoints.SinkFailed as exc:
        fail(str(exc))
    where = ", ".join(sink.label for sink in sinks)
    typer.echo(
        f"checkpoint of event {written.seq} stored in {where} "
        f"({written.pending_events} events waiting to be sealed)"
    )


@app.command("public-key")
def public_key() -> None:
    """Print the checkpoint signing public key (PEM), for auditors to pin."""
    from approvals.audit import checkpoints

    signer = checkpoints.signer_for(settings_or_exit().data_dir)
    typer.echo(signer.public_pem().rstrip())
    typer.echo(f"# kid {signer.kid}", err=True)
