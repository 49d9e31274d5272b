"""Decide, cancel and expire pending requests: every way a request leaves `pending`.

Each call is one transaction that first locks the request row, so decisions on one request
queue; the status change itself is still a compare-and-set from `pending`. A refused attempt
is audited and committed before its error is raised.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from approvals import metrics
from approvals.actions import followup, repository
from approvals.actions.models import ActionRequest, Vote
from approvals.actions.ports import ActionsDeps
from approvals.actions.reading import to_read
from approvals.actions.rules import Ballot, Refusal, Tally, normalise_identity, refusal_for, tally
from approvals.actions.schemas import ActionRead
from approvals.actions.states import Status
from approvals.audit import service as audit_service
from approvals.audit.service import NewEvent
from approvals.clients.models import Client
from approvals.errors import (
    AlreadyDecided,
    ApprovalsError,
    Conflict,
    Forbidden,
    NotEligible,
    NotFound,
    RedactionFailed,
    RequestExpired,
    SelfApproval,
)
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.kit.ids import new_id
from approvals.policy.engine import LoadedPolicy
from approvals.redaction import Redacted, RedactionError

log = structlog.get_logger(__name__)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


def _already(action: ActionRequest) -> AlreadyDecided:
    by = f" by {action.decided_by}" if action.decided_by else ""
    return AlreadyDecided(
        f"already {action.verdict or action.status}{by} at {_when(action.decided_at)}"
    )


async def redact_in_thread(
    deps: ActionsDeps, policy: LoadedPolicy, document: dict[str, Any]
) -> Redacted:
    """Redact in a worker thread, never on the event loop: redaction is CPU work that grows
    with the text (up to about 0.2 s for 100 KB of dense digits, docs/redaction.md "Time"), and
    on the loop it would hold every other request of this process that long. Raises
    RedactionError like `Redactor.redact`."""
    return await asyncio.to_thread(lambda: deps.redactor_for(policy).redact(document))


async def _redact_reason(deps: ActionsDeps, reason: str | None) -> str | None:
    """Reviewers' reasons are free text too: they pass the same redaction boundary."""
    if reason is None or not reason.strip():
        return None
    try:
        redacted = await redact_in_thread(deps, deps.policies.current(), {"reason": reason.strip()})
        value = redacted.value
    except RedactionError as exc:
        raise RedactionFailed(f"the reason cannot be redacted safely: {exc}") from None
    return str(value["reason"])


async def decide(
    deps: ActionsDeps,
    action_id: str,
    *,
    approver: str,
    verdict: str,
    reason: str | None,
    platform: str,
) -> ActionRead:
    """Record one reviewer's verdict. Repeating one's own verdict is a harmless no-op.

    Raises NotFound, AlreadyDecided, RequestExpired, SelfApproval, NotEligible, or Conflict
    (a vote cannot be changed), each with a sentence a reviewer can act on.
    """
    who = normalise_identity(approver)
    clean_reason = await _redact_reason(deps, reason)
    refusal: ApprovalsError | None = None
    changed = False
    async with transaction(deps.db) as session:
        action = await repository.get(session, action_id, lock=True)
        if action is None:
            raise NotFound(f"no action request {action_id!r}")
        votes = await repository.votes(session, action_id)
        mine = next((vote for vote in votes if vote.approver == who), None)
        events: list[NewEvent] = []
        now = utc_now()
        if mine is not None and mine.verdict == verdict:
            return to_read(action, votes)  # a double click or a platform retry counts once
        if action.status == Status.PENDING and now >= action.expires_at:
            await _expire(session, action, events, now)
            changed = True
            refusal = RequestExpired(
                f"this request expired at {_when(action.expires_at)}; nothing was approved"
            )
        elif action.status != Status.PENDING:
            refusal = _already(action)
        elif mine is not None:
            refusal = Conflict(
                f"you already voted {mine.verdict} at {_when(mine.created_at)}; "
                "a vote cannot be changed"
            )
        else:
            refusal = _refusal(deps, action, who, verdict)
            if refusal is None:
                await _vote(session, action, votes, who, verdict, clean_reason, platform, events)
                changed = True
        if refusal is not None:
            events.append(
                NewEvent(
                    "refused_vote",
                    who or "unknown",
                    action_id,
                    {"verdict": verdict, "platform": platform, "refusal": refusal.code},
                )
            )
        await audit_service.append(session, events)
        await session.refresh(action)
        read = to_read(action, await repository.votes(session, action_id))
    if changed:
        log.info("action.voted", action_id=action_id, status=read.status.value)
        await deps.committed(action_id)
    metrics.decisions.labels(
        platform=platform, outcome=refusal.code if refusal else "accepted"
    ).inc()
    if refusal is not None:
        raise refusal
    return read


def _refusal(
    deps: ActionsDeps, action: ActionRequest, who: str, verdict: str
) -> ApprovalsError | None:
    policy = deps.policies.current()
    eligible = frozenset().union(*(policy.members(g) for g in action.approver_groups))
    found = refusal_for(
        who,
        verdict=verdict,
        requester_identities=[action.requester, action.on_behalf_of or "", action.submitted_by],
        eligible=eligible,
    )
    if found is Refusal.SELF_APPROVAL:
        return SelfApproval(
            "you requested this action (or it runs on your behalf); someone else must decide"
        )
    if found is Refusal.NOT_ELIGIBLE:
        groups = ", ".join(action.approver_groups) or "(none: this request takes no votes)"
        return NotEligible(f"you are not in group {groups}; ask one of its members")
    return None


async def _vote(
    session: AsyncSession,
    action: ActionRequest,
    votes: list[Vote],
    who: str,
    verdict: str,
    reason: str | None,
    platform: str,
    events: list[NewEvent],
) -> None:
    now = utc_now()
    vote = Vote(
        id=new_id(),
        action_id=action.id,
        approver=who,
        verdict=verdict,
        reason=reason,
        platform=platform,
        created_at=now,
    )
    session.add(vote)
    await session.flush()
    events.append(
        NewEvent(
            "vote",
            who,
            action.id,
            {"verdict": verdict, "platform": platform, "has_reason": reason is not None},
        )
    )
    ballots = [Ballot(v.approver, v.verdict) for v in [*votes, vote]]
    result = tally(ballots, required=action.required_approvals, deny_ends=action.deny_ends)
    if result is Tally.OPEN:
        followup.schedule(session, action.id, Status.PENDING, f"vote:{vote.id}")
        return
    final = Status.APPROVED if result is Tally.APPROVED else Status.DENIED
    approvers = sorted({b.approver for b in ballots if b.verdict == "approve"})
    won = await repository.transition(
        session,
        action.id,
        expected=Status.PENDING,
        to=final,
        decided_at=now,
        decided_by=who if final is Status.DENIED else ", ".join(approvers),
        decision_reason=reason if final is Status.DENIED else None,
    )
    if not won:  # unreachable while the row lock is held; fail loudly rather than double-decide
        raise _already(action)
    events.append(
        NewEvent(
            final.value,
            who,
            action.id,
            {"approvers": approvers, "required": action.required_approvals},
        )
    )
    followup.schedule(session, action.id, final, final.value)


async def _expire(
    session: AsyncSession, action: ActionRequest, events: list[NewEvent], now: datetime
) -> bool:
    won = await repository.transition(
        session,
        action.id,
        expected=Status.PENDING,
        to=Status.EXPIRED,
        decided_at=now,
        decided_by="system:ttl",
        decision_reason=f"nobody decided before {_when(action.expires_at)}",
    )
    if won:
        metrics.expirations.inc()
        events.append(
            NewEvent(
                "expired", "system:ttl", action.id, {"expires_at": action.expires_at.isoformat()}
            )
        )
        followup.schedule(session, action.id, Status.EXPIRED, Status.EXPIRED.value)
    return won


async def cancel(deps: ActionsDeps, action_id: str, client: Client) -> ActionRead:
    """The requester (the submitting client, or an admin) withdraws a pending request."""
    async with transaction(deps.db) as session:
        action = await repository.get(session, action_id, lock=True)
        if action is None or (
            action.client_id != client.id
            and "admin" not in client.scopes
            and "review" not in client.scopes
            and "audit" not in client.scopes
        ):
            raise NotFound(f"no action request {action_id!r}")
        if action.client_id != client.id and "admin" not in client.scopes:
            raise Forbidden("only the client that submitted a request (or an admin) may cancel it")
        if action.status != Status.PENDING:
            raise _already(action)
        now = utc_now()
        await repository.transition(
            session,
            action_id,
            expected=Status.PENDING,
            to=Status.CANCELLED,
            decided_at=now,
            decided_by=client.identity,
            decision_reason="cancelled by the requester",
        )
        followup.schedule(session, action_id, Status.CANCELLED, Status.CANCELLED.value)
        await audit_service.append(session, [NewEvent("cancelled", client.identity, action_id)])
        await session.refresh(action)
        read = to_read(action, await repository.votes(session, action_id))
    await deps.committed(action_id)
    return read


async def expire_due(deps: ActionsDeps, *, limit: int = 200) -> list[str]:
    """Expire every pending request past its TTL; returns the ids expired by this call."""
    expired: list[str] = []
    async with transaction(deps.db) as session:
        for action_id in await repository.due_for_expiry(session, utc_now(), limit):
            action = await repository.get(session, action_id, lock=True)
            events: list[NewEvent] = []
            if (
                action is not None
                and action.status == Status.PENDING
                and await _expire(session, action, events, utc_now())
            ):
                expired.append(action_id)
                await audit_service.append(session, events)
    for action_id in expired:
        await deps.committed(action_id)
    return expired


async def expire_if_due(deps: ActionsDeps, action_id: str) -> bool:
    async with transaction(deps.db) as session:
        action = await repository.get(session, action_id, lock=True)
        if action is None or action.status != Status.PENDING or utc_now() < action.expires_at:
            return False
        events: list[NewEvent] = []
        won = await _expire(session, action, events, utc_now())
        await audit_service.append(session, events)
    if won:
        await deps.committed(action_id)
    return won
