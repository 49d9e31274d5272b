"""/v1/audit (events, chain verification) and /v1/reports (evidence) routes; audit scope.

Also owns the server's periodic checkpoint writer (a router lifespan, so it runs only when
APPROVALS_AUDIT_CHECKPOINT_PATH or _URL is set and only in the serving process).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Response

from approvals.api.deps import RuntimeDep
from approvals.api.responses import errors
from approvals.audit import checkpoints, render, reports, sinks
from approvals.audit import service as audit_service
from approvals.audit.render import Format
from approvals.audit.schemas import AuditEventPage, AuditEventRead, ChainStatusRead, EvidenceReport
from approvals.clients.auth import Auditor
from approvals.config import Settings
from approvals.errors import InvalidRequest
from approvals.kit.clock import utc_now
from approvals.kit.loops import finish

DEFAULT_REPORT_DAYS = 30


@asynccontextmanager
async def _checkpoint_writer(app: FastAPI) -> AsyncIterator[None]:
    runtime: Any = getattr(app.state, "runtime", None)
    configured = checkpoint_sinks(runtime.settings) if runtime is not None else ()
    if not configured:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(
        checkpoints.run_periodically(
            runtime.db,
            configured,
            checkpoints.signer_for(runtime.settings.data_dir),
            runtime.settings.audit_checkpoint_interval_seconds,
            stop,
        ),
        name="audit-checkpoints",
    )
    try:
        yield
    finally:
        # Stopped between checkpoints, not cancelled inside a database call: a cancelled call
        # leaves its connection in an unknown state, and SQLAlchemy invalidates it; on
        # SQLite that connection could keep the write lock while the app's Runtime lives on.
        # A sink that hangs past the grace period loses that checkpoint (kit/loops.py).
        stop.set()
        await finish([task])


router = APIRouter(lifespan=_checkpoint_writer)

_ERRORS = errors(
    401, 403, 422, s403="The key lacks the audit scope.", s422="Invalid filter, period or cursor."
)


def utc(moment: datetime | None) -> datetime | None:
    """Times without a zone are UTC (a bare date is its midnight UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """[start, end): defaults to the last 30 days up to now."""
    end_utc = utc(end) or utc_now()
    start_utc = utc(start) or end_utc - timedelta(days=DEFAULT_REPORT_DAYS)
    if start_utc >= end_utc:
        raise InvalidRequest("`from` must be before `to`")
    return start_utc, end_utc


def checkpoint_sinks(settings: Settings, path: Path | None = None) -> Sequence[sinks.Sink]:
    """Every configured checkpoint sink; `path` stands in for APPROVALS_AUDIT_CHECKPOINT_PATH."""
    return sinks.configured(
        path or settings.audit_checkpoint_path,
        settings.audit_checkpoint_url,
        settings.audit_s3_endpoint_url,
    )


async def chain_status(runtime: RuntimeDep) -> ChainStatusRead:
    settings = runtime.settings
    stores = checkpoint_sinks(settings)
    status = await checkpoints.verify(
        runtime.db,
        sinks=stores,
        signer=checkpoints.signer_for(settings.data_dir),
    )
    return reports.chain_read(status, utc_now(), stores=len(stores))


async def evidence(runtime: RuntimeDep, start: datetime, end: datetime) -> EvidenceReport:
    chain = await chain_status(runtime)
    async with runtime.db() as session:
        return await reports.build(session, start, end, chain)


def render_report(report: EvidenceReport, fmt: Format) -> tuple[bytes, str]:
    if fmt is Format.JSON:
        return render.to_json(report), render.MEDIA_TYPES[fmt]
    if fmt is Format.CSV:
        return render.to_csv(report).encode(), render.MEDIA_TYPES[fmt]
    html = render.to_html(report)
    if fmt is Format.PDF:
        return render.to_pdf(html), render.MEDIA_TYPES[fmt]
    return html.encode(), render.MEDIA_TYPES[fmt]


@router.get(
    "/v1/audit/events",
    tags=["audit"],
    response_model=AuditEventPage,
    responses=_ERRORS,
    summary="Audit events, oldest first, filtered; keyset pagination by sequence number",
)
async def list_events(
    runtime: RuntimeDep,
    _client: Auditor,
    request_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=320)] = None,
    event_type: Annotated[str | None, Query(alias="type", max_length=40)] = None,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditEventPage:
    if cursor is not None and not cursor.isdigit():
        raise InvalidRequest("cursor is not one this API returned; start without it")
    where = audit_service.EventFilter(
        action_id=request_id, actor=actor, event_type=event_type, start=utc(start), end=utc(end)
    )
    async with runtime.db() as session:
        rows = await audit_service.page(session, where, after_seq=int(cursor or 0), limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditEventPage(
        items=[AuditEventRead.model_validate(row) for row in rows],
        next_cursor=str(rows[-1].seq) if more else None,
    )


@router.get(
    "/v1/audit/verify",
    tags=["audit"],
    response_model=ChainStatusRead,
    responses=_ERRORS,
    summary="Walk the hash chain; report the first edited, deleted, inserted or moved event",
)
async def verify_chain(runtime: RuntimeDep, _client: Auditor) -> ChainStatusRead:
    return await chain_status(runtime)


@router.get(
    "/v1/reports/evidence",
    tags=["reports"],
    responses={
        200: {
            "description": "The report as JSON (EvidenceReport), CSV, HTML or PDF.",
            "content": {media: {} for media in render.MEDIA_TYPES.values()},
        },
        **_ERRORS,
    },
    summary="Evidence report for requests created in [from, to)",
)
async def evidence_report(
    runtime: RuntimeDep,
    _client: Auditor,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    fmt: Annotated[Format, Query(alias="format")] = Format.JSON,
) -> Response:
    first, last = period(start, end)
    report = await evidence(runtime, first, last)
    body, media_type = await asyncio.to_thread(render_report, report, fmt)
    name = f"evidence-{first:%Y%m%d}-{last:%Y%m%d}.{fmt.value}"
    headers = {"Content-Disposition": f'inline; filename="{name}"'}
    if fmt is Format.HTML:
        headers["Content-Security-Policy"] = render.HTML_CSP
    return Response(body, media_type=media_type, headers=headers)
