"""Deliver a signed callback for one final state, with retries and a dead letter.

Each attempt: load the delivery, sign the canonical body with the client's secret, POST it
through the SSRF guard (no redirects, pinned address). 2xx → delivered. 5xx, 408, 429 and
network errors → retried with exponential backoff and jitter (Retry-After honoured) until the
horizon. Other 4xx, or a refused destination → dead letter at once. Both ends are audited.
"""

from __future__ import annotations

import random
import ssl
import time
from datetime import timedelta
from typing import Protocol

import httpx
import structlog
from sqlalchemy import select

from approvals import metrics
from approvals.actions.models import ActionRequest
from approvals.actions.ports import ActionsDeps
from approvals.audit import service as audit_service
from approvals.audit.service import NewEvent
from approvals.clients import service as clients_service
from approvals.clients.models import Client
from approvals.config import Settings
from approvals.kit.canonical import canonical_json
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.kit.http import BlockedDestination, build_async_client
from approvals.kit.secretbox import SecretBoxError
from approvals.outbox.service import RetryLater
from approvals.release.models import CallbackDelivery, ReleaseToken
from approvals.release.webhooks import build_headers

log = structlog.get_logger(__name__)

_RETRYABLE = {408, 425, 429}


class CallbackDeps(ActionsDeps, Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def callback_tls(self) -> ssl.SSLContext:
        """One `tls_context()` per process, shared by every delivery."""
        ...


def tls_context() -> ssl.SSLContext:
    """The TLS settings every callback is sent with: certificate and host name verified against
    the bundled CA list, no environment overrides (what `build_async_client` uses by default).
    Loading the CA list costs about 14 ms, and a guarded client built without a context loads it
    twice, so the Runtime builds this once and each delivery passes it in."""
    return httpx.create_ssl_context(verify=True, trust_env=False)


def _backoff(attempt: int) -> float:
    base: float = min(3600.0, 2.0 ** min(attempt, 12))
    return base * (0.5 + random.random() / 2)  # noqa: S311 (jitter, not security)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


async def deliver(deps: CallbackDeps, delivery_id: str) -> None:
    async with deps.db() as session:  # one round trip: this runs between a decision and its POST
        loaded = (
            await session.execute(
                select(CallbackDelivery, ActionRequest, Client, ReleaseToken)
                .outerjoin(ActionRequest, ActionRequest.id == CallbackDelivery.action_id)
                .outerjoin(Client, Client.id == ActionRequest.client_id)
                .outerjoin(ReleaseToken, ReleaseToken.action_id == CallbackDelivery.action_id)
                .where(CallbackDelivery.id == delivery_id)
            )
        ).first()
        if loaded is None:
            return
        delivery, action, client, token = loaded
        if delivery.state != "pending":
            return  # delivered or dead already: a duplicate run
        unsealable: str | None = None
        try:
            secret = clients_service.webhook_secret(session, client) if client else ""
        except SecretBoxError as exc:  # a rotated key missing from the settings: fixable
            secret, unsealable = "", str(exc)
    if action is None or client is None or not action.callback_url:
        log.error("callback.no_destination", delivery_id=delivery_id)
        return
    if unsealable is not None:
        log.error("callback.secret_unreadable", delivery_id=delivery_id, detail=unsealable)
        await _retry(deps, delivery, None, unsealable, None)
        return
    body = canonical_json(
        {
            "id": delivery.id,
            "type": f"action.{delivery.event}",
            "action_id": action.id,
            "status": delivery.event,
            "decided_by": action.decided_by,
            "reason": action.decision_reason,
            "payload_digest": action.payload_digest,
            "release_token": token.token if token and delivery.event == "released" else None,
            "release_expires_at": token.expires_at.isoformat() if token else None,
        }
    )
    headers = build_headers(delivery.id, body, secret, utc_now(), event=f"action.{delivery.event}")
    guard = deps.callback_guard
    status: int | None = None
    try:
        async with build_async_client(
            guard=guard,
            allowlist=client.callback_hosts,
            timeout=deps.settings.callback_timeout_seconds,
            verify=deps.callback_tls,
        ) as http:
            started = time.perf_counter()
            response = await http.post(action.callback_url, content=body, headers=headers)
        status = response.status_code
        metrics.callback_latency.labels(result=str(status // 100) + "xx").observe(
            time.perf_counter() - started
        )
    except BlockedDestination as exc:
        await _finish(deps, delivery, "dead", None, str(exc))
        return
    except httpx.HTTPError as exc:
        await _retry(deps, delivery, None, type(exc).__name__, None)
        return
    if 200 <= status < 300:
        await _finish(deps, delivery, "delivered", status, None)
    elif status >= 500 or status in _RETRYABLE:
        await _retry(deps, delivery, status, f"HTTP {status}", _retry_after(response))
    else:
        await _finish(deps, delivery, "dead", status, f"HTTP {status}: the receiver refused it")


async def _retry(
    deps: CallbackDeps,
    delivery: CallbackDelivery,
    status: int | None,
    error: str,
    after: float | None,
) -> None:
    horizon = delivery.created_at + timedelta(seconds=deps.settings.callback_horizon_seconds)
    if utc_now() >= horizon:
        await _finish(deps, delivery, "dead", status, f"{error}; gave up after the horizon")
        return
    async with transaction(deps.db) as session:
        row = await session.get(CallbackDelivery, delivery.id, with_for_update=True)
        if row is not None:
            row.attempts += 1
            row.last_status, row.last_error = status, error
    raise RetryLater(after if after is not None else _backoff(delivery.attempts + 1), error)


async def _finish(
    deps: CallbackDeps,
    delivery: CallbackDelivery,
    state: str,
    status: int | None,
    error: str | None,
) -> None:
    event = "callback_delivered" if state == "delivered" else "callback_failed"
    async with transaction(deps.db) as session:
        row = await session.get(CallbackDelivery, delivery.id, with_for_update=True)
        if row is None or row.state != "pending":
            return
        row.state, row.attempts = state, row.attempts + 1
        row.last_status, row.last_error, row.finished_at = status, error, utc_now()
        await audit_service.append(
            session,
            [
                NewEvent(
                    event,
                    "system:worker",
                    row.action_id,
                    {
                        "delivery_id": row.id,
                        "event": row.event,
                        "attempts": row.attempts,
                        "status": status,
                        "error": error,
                    },
                )
            ],
        )
    if state == "dead":
        metrics.dead_letters.labels(kind="callbacks.deliver").inc()
    log.info("callback." + state, action_id=delivery.action_id, status=status)
