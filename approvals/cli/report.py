"""`approvals report`: the evidence report for a period, as HTML, JSON, CSV or PDF."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from approvals.audit.render import Format, PdfUnavailable
from approvals.cli.common import fail, with_runtime

if TYPE_CHECKING:
    from approvals.audit.schemas import EvidenceReport
    from approvals.runtime import Runtime


def report(
    output: Annotated[Path, typer.Option("-o", "--output", help="The file to write.")],
    start: Annotated[
        datetime | None, typer.Option("--from", help="Start (inclusive), e.g. 2026-11-01; UTC.")
    ] = None,
    end: Annotated[datetime | None, typer.Option("--to", help="End (exclusive); UTC.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="html, json, csv or pdf.")] = Format.HTML,
) -> None:
    """Write the evidence report for requests created in [from, to) (default: last 30 days)."""
    from approvals.audit.api import evidence, period, render_report

    first, last = period(start, end)

    async def work(runtime: Runtime) -> EvidenceReport:
        return await evidence(runtime, first, last)

    built = with_runtime(work)
    try:
        body, _ = render_report(built, fmt)
    except PdfUnavailable as exc:
        fail(str(exc))
    output.write_bytes(body)
    chain = "intact" if built.chain.intact else "BROKEN"
    typer.echo(
        f"{output}: {built.totals.requests} requests, self-approval check "
        f"{'passed' if built.self_approval.passed else 'FAILED'}, audit chain {chain}"
    )
