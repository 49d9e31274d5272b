"""Use cases of the actions domain: submit, decide, cancel, expire, read.

The only writer of request state. Each command is one transaction: the row change, its
audit events and its outbox rows commit together, and `deps.committed()` runs after.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpcore
import structlog
from sqlalchemy.exc import IntegrityError

from approvals import metrics
from approvals.actions import followup, repository
from approvals.actions.decisions import cancel, decide, expire_due, redact_document
from approvals.actions.facts import request_facts
from approvals.actions.models import ActionRequest
from approvals.actions.ports import ActionsDeps, IssuedRelease
from approvals.actions.reading import to_read
from approvals.actions.schemas import ActionCreate, ActionPage, ActionRead
from approvals.actions.states import Status
from approvals.audit import service as audit_service
from approvals.audit.service import NewEvent
from approvals.clients.models import Client
from approvals.errors import IdempotencyConflict, InvalidRequest, NotFound, RedactionFailed
from approvals.kit.bulk import as_rows, built, insert_added
from approvals.kit.canonical import digest
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.kit.http import BlockedDestination, Guard, host_allowed
from approvals.kit.ids import new_id
from approvals.policy.decision import Decision, Outcome
from approvals.redaction import RedactionError

__all__ = ["Submitted", "cancel", "decide", "expire_due", "get", "list_page", "submit"]

log = structlog.get_logger(__name__)

_INITIAL_STATUS = {
    Outcome.BLOCK: Status.BLOCKED,
    Outcome.AUTO_APPROVE: Status.AUTO_APPROVED,
    Outcome.REQUIRE: Status.PENDING,
}


@dataclass(frozen=True, slots=True)
class Submitted:
    action: ActionRead
    created: bool  # False: an idempotent replay of an earlier submit


async def submit(
    deps: ActionsDeps, client: Client, body: ActionCreate, idempotency_key: str | None = None
) -> Submitted:
    """Redact, analyse, judge and store a new request; replay it for a repeated key."""
    body_digest = digest(body.model_dump(mode="json"))
    idempotency_key = (idempotency_key or "").strip() or None  # a blank header is no key
    if idempotency_key:
        replay = await _replay(deps, client.id, idempotency_key, body_digest)
        if replay:
            return replay

    if body.callback_url is not None:
        await _check_callback(str(body.callback_url), client, deps.callback_guard)
    policy = deps.policies.current()
    facts, guardrails = request_facts(policy, body, client.identity)
    risk, requester, on_behalf_of = facts.risk, facts.requester, facts.on_behalf_of
    decision = policy.evaluate(facts)
    try:
        redacted = await redact_document(
            deps,
            policy,
            {
                "resource": body.resource,
                "justification": body.justification,
                "params": body.params,
                "context": body.context,
                "tags": list(body.tags),
            },
        )
    except RedactionError as exc:
        raise RedactionFailed(f"the request cannot be redacted safely: {exc}") from None
    clean: dict[str, Any] = redacted.value
    findings = [
        {"path": f.path, "type": f.type, "detector": f.detector, "count": f.count}
        for f in redacted.findings
    ]

    now = utc_now()
    ttl = (
        decision.ttl_seconds
        if body.ttl_seconds is None
        else min(body.ttl_seconds, decision.ttl_seconds)
    )
    status = _INITIAL_STATUS[decision.outcome]
    action_id = new_id()
    action = built(
        ActionRequest,
        id=action_id,
        status=status.value,
        client_id=client.id,
        submitted_by=client.identity,
        idempotency_key=idempotency_key,
        body_digest=body_digest,
        action=body.action,
        resource=clean["resource"],
        environment=body.environment,
        requester=requester,
        on_behalf_of=on_behalf_of,
        justification=clean["justification"],
        params=clean["params"],
        context=clean["context"],
        tags=clean["tags"],
        redaction_findings=findings,
        payload_digest=digest(
            {"action": body.action, "resource": body.resource, "params": body.params}
        ),
        callback_url=str(body.callback_url) if body.callback_url else None,
        risk=risk.value,
        guardrails=[
            {"code": g.code, "severity": g.severity.value, "message": g.message} for g in guardrails
        ],
        policy_rule=decision.rule_id,
        policy_version=decision.policy_version,
        policy_message=decision.message,
        required_approvals=decision.required_approvals,
        approver_groups=list(decision.approver_groups),
        channels=list(decision.channels),
        deny_ends=decision.deny_ends,
        step_up=decision.step_up.value if decision.step_up else None,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=ttl),
        remind_at=_after(now, decision.remind_after_seconds, ttl),
        escalate_at=_after(now, decision.escalate_after_seconds, ttl),
        escalate_to=list(decision.escalate_to),
        decided_at=None if status is Status.PENDING else now,
        verdict=None if status is Status.PENDING else status.value,
        decided_by=None if status is Status.PENDING else f"policy:{decision.rule_id}",
        decision_reason=decision.message if status is Status.BLOCKED else None,
    )
    events = [
        NewEvent(
            "requested",
            client.identity,
            action_id,
            {
                "action": body.action,
                "environment": body.environment,
                "requester": requester,
                "on_behalf_of": on_behalf_of,
                "client_id": client.id,
                "payload_digest": action.payload_digest,
            },
        ),
        NewEvent("redacted", "system", action_id, {"summary": redacted.summary()}),
        NewEvent(
            "policy_evaluated",
            "system",
            action_id,
            {
                "rule": decision.rule_id,
                "version": decision.policy_version,
                "outcome": decision.outcome.value,
                "risk": risk.value,
                "guardrails": [g.code for g in guardrails],
                "required_approvals": decision.required_approvals,
                "approver_groups": list(decision.approver_groups),
            },
        ),
    ]
    issued: IssuedRelease | None = None
    try:
        async with transaction(deps.db) as session:
            if _releases_at_intake(status, decision):
                # Minted now, in this transaction, so the 201 carries it; the release job
                # then only finishes the state and delivers the callback with this token.
                issued = deps.issue_release(session, action, [str(action.decided_by)])
            followup.schedule(session, action_id, status, "created")
            if status is not Status.PENDING:
                events.append(_decided_event(status, decision, action_id, issued))
            # Every row in one round trip; a concurrent twin with the same key fails here.
            await insert_added(
                session, as_rows(action), (audit_service.AUDIT_EVENTS, audit_service.rows(events))
            )
    except IntegrityError:
        if idempotency_key:
            replay = await _replay(deps, client.id, idempotency_key, body_digest)
            if replay:
                return replay
        raise
    metrics.requests_submitted.labels(status=status.value).inc()
    log.info(
        "action.submitted",
        action_id=action_id,
        status=status.value,
        rule=decision.rule_id,
        risk=risk.value,
    )
    await deps.committed(action_id, created=True)
    read = to_read(action, [])
    if issued is not None:
        read.release_token, read.release_expires_at = issued.token, issued.expires_at
    return Submitted(read, created=True)


def _releases_at_intake(status: Status, decision: Decision) -> bool:
    """Only policy's own approval releases at once: never a request that waits for a person,
    is blocked, or asks its approvers to step up."""
    return status is Status.AUTO_APPROVED and decision.step_up is None


def _decided_event(
    status: Status, decision: Decision, action_id: str, issued: IssuedRelease | None
) -> NewEvent:
    """Policy's own verdict (blocked, auto-approved), with the token minted for it: who
    released it (the rule, at this policy version), when, and until when."""
    payload: dict[str, Any] = {"rule": decision.rule_id}
    if issued is not None:
        payload.update(
            version=decision.policy_version,
            jti=issued.jti,
            kid=issued.kid,
            issued_at=issued.issued_at.isoformat(),
            expires_at=issued.expires_at.isoformat(),
        )
    return NewEvent(status.value, f"policy:{decision.rule_id}", action_id, payload)


def _after(now: datetime, seconds: int | None, ttl: int) -> datetime | None:
    """A reminder or escalation moment, only if it falls before the request expires."""
    return now + timedelta(seconds=seconds) if seconds and seconds < ttl else None


async def _check_callback(url: str, client: Client, guard: Guard) -> None:
    """Refuse at intake what delivery would refuse: hosts outside the client's allowlist,
    private, loopback and link-local destinations. A name that does not resolve yet is left to
    delivery (DNS may be down briefly); one that resolves somewhere forbidden never is."""
    if not host_allowed(url, client.callback_hosts):
        hosts = ", ".join(client.callback_hosts) or "none"
        raise InvalidRequest(
            f"callback_url's host is not in this client's allowlist ({hosts}); "
            "an admin adds hosts with `approvals clients create --callback-host`"
        )
    try:
        await asyncio.to_thread(guard.check_destination, url, client.callback_hosts)
    except BlockedDestination as exc:
        raise InvalidRequest(f"callback_url refused: {exc}") from None
    except httpcore.ConnectError:
        return


async def _replay(
    deps: ActionsDeps, client_id: str, key: str, body_digest: str
) -> Submitted | None:
    async with deps.db() as session:
        existing = await repository.by_idempotency_key(session, client_id, key)
        if existing is None:
            return None
        if existing.body_digest != body_digest:
            raise IdempotencyConflict(
                f"Idempotency-Key {key!r} was already used with a different body "
                f"(request {existing.id}); use a new key for a new request"
            )
        return Submitted(
            to_read(existing, await repository.votes(session, existing.id)), created=False
        )


async def get(deps: ActionsDeps, action_id: str, viewer: Client | None = None) -> ActionRead:
    async with deps.db() as session:
        action = await repository.get(session, action_id)
        if action is None or (viewer is not None and not _may_view(viewer, action)):
            raise NotFound("no action request with this id")
        return to_read(action, await repository.votes(session, action_id))


def _may_view(viewer: Client, action: ActionRequest) -> bool:
    return action.client_id == viewer.id or bool({"review", "audit", "admin"} & set(viewer.scopes))


def encode_cursor(action_id: str) -> str:
    return base64.urlsafe_b64encode(action_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        return str(uuid.UUID(raw))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("cursor is not one this API returned; start without it") from None


async def list_page(
    deps: ActionsDeps, viewer: Client, *, status: Status | None, cursor: str | None, limit: int
) -> ActionPage:
    sees_all = bool({"review", "audit", "admin"} & set(viewer.scopes))
    async with deps.db() as session:
        rows = await repository.page(
            session,
            status=status,
            before_id=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
            client_id=None if sees_all else viewer.id,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        votes = await repository.votes_for(session, [row.id for row in rows])
    items = [to_read(row, votes[row.id]) for row in rows]
    return ActionPage(items=items, next_cursor=encode_cursor(rows[-1].id) if more else None)
