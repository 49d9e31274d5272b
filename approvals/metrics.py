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
http_duration = Histogram(
    "approvals_http_request_duration_seconds",
    "HTTP request duration, by method and route template.",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
http_responses = Counter(
    "approvals_http_responses_total",
    "HTTP responses, by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
job_duration = Histogram(
    "approvals_job_duration_seconds",
    "Time a background job body ran, by kind.",
    ["kind"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60),
)
queue_depth = Gauge(
    "approvals_queue_depth",
    "Jobs waiting in each RQ queue (read at scrape time).",
    ["queue"],
    registry=REGISTRY,
)
callback_latency = Histogram(
    "approvals_callback_delivery_seconds",
    "One callback POST, from send to answer, by result.",
    ["result"],
    registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
dead_letters = Counter(
    "approvals_dead_letters_total",
    "Follow-up work given up after its last attempt, by kind.",
    ["kind"],
    registry=REGISTRY,
)
policy_reload_failures = Gauge(
    "approvals_policy_reload_failures",
    "Policy file changes refused since start (the previous policy stayed in force).",
    registry=REGISTRY,
)
policy_reload_failing = Gauge(
    "approvals_policy_reload_failing",
    "1 while the policy file on disk is broken and an older version is in force.",
    registry=REGISTRY,
)
queue_up = Gauge(
    "approvals_queue_up",
    "1 when the job queue (Redis) answered the last readiness check.",
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
