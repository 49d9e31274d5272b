"""Prometheus metrics, named in one place. Labels are enums and kinds, never request values.

Each process exports its own /metrics (API replicas); workers count into the same names, so a
multi-process deployment scrapes each process (documented in docs/operations.md).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

requests_submitted = Counter(
    "approvals_requests_submitted_total",
    "Action requests accepted at intake, by initial status.",
    ["status"],
    registry=REGISTRY,
)
decisions = Counter(
    "approvals_decisions_total",
    "Reviewer decisions, by outcome (accepted or refusal code).",
    ["platform", "outcome"],
    registry=REGISTRY,
)
expirations = Counter(
    "approvals_expirations_total",
    "Pending requests that expired with nobody deciding.",
    registry=REGISTRY,
)
jobs = Counter(
    "approvals_jobs_total",
    "Background jobs run, by kind and result.",
    ["kind", "result"],
    registry=REGISTRY,
)
job_latency = Histogram(
    "approvals_job_latency_seconds",
    "From the work being written (commit) to its job finishing.",
    ["kind"],
    registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300),
)
outbox_due = Gauge(
    "approvals_outbox_due",
    "Follow-up work written but not finished (queue depth).",
    registry=REGISTRY,
)
waiters = Gauge(
    "approvals_waiters",
    "Long-polls currently waiting on a decision.",
    registry=REGISTRY,
)
audit_events_sealed = Counter(
    "approvals_audit_events_sealed_total",
    "Audit events this process's sequencer linked into the hash chain.",
    registry=REGISTRY,
)
audit_seal_lag = Gauge(
    "approvals_audit_seal_lag_seconds",
    "How long the oldest event of this process's last sealed batch waited to be sealed "
    "(0 when nothing waited).",
    registry=REGISTRY,
)
