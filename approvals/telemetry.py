"""OpenTelemetry traces, optional and off by default (the [otel] extra).

With OTEL_EXPORTER_OTLP_ENDPOINT set, each process sends spans over OTLP/HTTP: FastAPI
requests, SQLAlchemy statements, httpx calls (Slack, Teams, callbacks) and one span per job.
A job's span continues the trace of the request that wrote its outbox row: the row stores the
W3C `traceparent` of that moment, since the job runs later and often in another process.
Nothing here runs, and nothing from opentelemetry is imported, unless tracing is configured.
Span attributes are ids and kinds only; statement parameters are never recorded.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from approvals.kit import tracing

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

    from approvals.config import Settings

_lock = threading.Lock()
_provider: Any = None


def enabled() -> bool:
    return _provider is not None


def configure(settings: Settings) -> bool:
    """Set up the process's tracer provider once; False when tracing is not configured."""
    global _provider  # one provider per process, like the OTel SDK's own global
    endpoint = settings.otel_exporter_otlp_endpoint
    if not endpoint:
        return False
    with _lock:
        if _provider is not None:
            return True
        from opentelemetry import propagate, trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(
            resource=Resource.create({"service.name": settings.otel_service_name})
        )
        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
        trace.set_tracer_provider(provider)
        HTTPXClientInstrumentor().instrument()

        def traceparent() -> str | None:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            return carrier.get("traceparent")

        tracing.set_trace_context_source(traceparent)
        _provider = provider
    return True


def instrument_app(app: FastAPI) -> None:
    if enabled():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")


def instrument_engine(engine: AsyncEngine) -> None:
    """Each engine of the process (a worker has several): the instrumentor's own `instrument()`
    acts once per process, so every engine gets its tracer attached directly."""
    if enabled():
        from opentelemetry import metrics, trace
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

        usage = metrics.get_meter("approvals.db").create_up_down_counter(
            "db.client.connections.usage"
        )
        EngineTracer(trace.get_tracer("approvals.db"), engine.sync_engine, usage)  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def job_span(kind: str, outbox_id: str, traceparent: str | None) -> Iterator[None]:
    """A span for one job, child of the request that wrote it when its context was stored."""
    if not enabled():
        yield
        return
    from opentelemetry import propagate, trace

    parent = propagate.extract({"traceparent": traceparent} if traceparent else {})
    tracer = trace.get_tracer("approvals.jobs")
    with tracer.start_as_current_span(
        f"job {kind}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={"approvals.job.kind": kind, "approvals.outbox_id": outbox_id},
    ):
        yield


def shutdown() -> None:
    """Flush what is buffered (called when a process stops)."""
    if _provider is not None:
        _provider.shutdown()
