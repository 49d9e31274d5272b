"""Decide, cancel and expire pending requests: every way a request leaves `pending`.

Each call is one transaction that first locks the request row, so decisions on one request
queue; the status change itself is still a compare-and-set from `pending`. A refused attempt
is audited and committed before its error is raised.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from approvals import metrics
from approvals.actions import followup, repository
from approvals.actions.models import ActionRequest, Vote
from approvals.actions.ports import ActionsDeps
from approvals.actions.reading import to_read
from approvals.actions.rules import Ballot, Refusal, Tally, refusal_for, tally
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
    InvalidRequest,
    NotEligible,
    NotFound,
    RedactionFailed,
    RequestExpired,
    SelfApproval,
    StepUpRequired,
)
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.kit.identity import identity_key
from approvals.kit.ids import new_id
from approvals.kit.validation import UNSTORABLE, unstorable
from approvals.policy.decision import StepUp
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


# Text up to this many characters is redacted on the event loop: at the slowest text per KB
# (docs/redaction.md "Time", about 1 ms per KB) that holds the loop no longer than a
# request's own work, while the thread hop it saves costs more than redacting a typical
# request (a few hundred characters, tens of microseconds). Longer text goes to a thread.
INLINE_REDACTION_CHARS = 1024


def redaction_fits_on_loop(value: Any, budget: int = INLINE_REDACTION_CHARS) -> bool:
    """Whether the strings in `value` (keys included) total at most `budget` characters;
    stops counting as soon as they do not."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            budget -= len(item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        else:
            budget -= 8  # a number, boolean or null: a few characters of text at most
        if budget < 0:
            return False
    return True


async def redact_document(
    deps: ActionsDeps, policy: LoadedPolicy, document: dict[str, Any]
) -> Redacted:
    """Redact without holding the event loop: redaction is CPU work that grows with the text
    (up to about 0.1 s for 100 KB of the slowest text), and on the loop it would hold every
    other request of this process that long, so longer documents go to a worker thread.
    Raises RedactionError like `Redactor.redact`."""
    redactor = deps.redactor_for(policy)
    if redaction_fits_on_loop(document):
        return redactor.redact(document)
    return await asyncio.to_thread(redactor.redact, document)


async def _redact_reason(deps: ActionsDeps, reason: str | None) -> str | None:
    """Reviewers' reasons are free text too: they pass the same redaction boundary."""
    if reason is None or not reason.strip():
        return None
    if unstorable(reason):  # the API refuses it at parse time; chat and form paths end here
        raise InvalidRequest(UNSTORABLE)
    try:
        redacted = await redact_document(deps, deps.policies.current(), {"reason": reason.strip()})
        value = redacted.value
    except RedactionError as exc:
        raise RedactionFailed(f"the reason cannot be redacted safely: {exc}") from None
    return str(value["reason"])


@dataclass(frozen=True, slots=True)
class Cast:
    """A decision's result; `repeat_of` is when the same person cast the same verdict before
    (a double click or a platform retry, counted once), so a chat can answer "already voted"."""

    action: ActionRead
    repeat_of: datetime | None = None


async def decide(
    deps: ActionsDeps,
    action_id: str,
    *,
    approver: str,
    verdict: str,
    reason: str | None,
    platform: str,
    stepped_up: str | None = None,
    auth: str | None = None,
) -> ActionRead:
    """Record one reviewer's verdict. Repeating one's own verdict is a harmless no-op.

    `stepped_up` is the confirmation the approver gave just now (oidc, or passkey:<credential
    id>), if any: an approval of a request whose rule demands step-up counts only with the
    right one, so no plain path (API key, chat button, one-click web form) can approve it.
    Denials never need it. `auth` is how the voter was authenticated (api_key, sso, slack,
    teams; default: the platform's own), kept on the vote for the evidence report.

    Raises NotFound, AlreadyDecided, RequestExpired, SelfApproval, NotEligible,
    StepUpRequired, or Conflict (a vote cannot be changed), each with a sentence a reviewer
    can act on.
    """
    cast_vote = await cast(
        deps,
        action_id,
        approver=approver,
        verdict=verdict,
        reason=reason,
        platform=platform,
        stepped_up=stepped_up,
        auth=auth,
    )
    return cast_vote.action


async def cast(
    deps: ActionsDeps,
    action_id: str,
    *,
    approver: str,
    verdict: str,
    reason: str | None,
    platform: str,
    stepped_up: str | None = None,
    auth: str | None = None,
) -> Cast:
    """`decide`, also saying whether the vote repeated one already counted."""
    who = identity_key(approver)
    clean_reason = await _redact_reason(deps, reason)
    refusal: ApprovalsError | None = None
    changed = False
    async with transaction(deps.db) as session:
        action = await repository.get(session, action_id, lock=True)
        if action is None:
            raise NotFound("no action request with this id")
        votes = await repository.votes(session, action_id)
        mine = next((vote for vote in votes if vote.approver == who), None)
        events: list[NewEvent] = []
        now = utc_now()
        if mine is not None and mine.verdict == verdict:
            # A double click or a platform retry counts once.
            return Cast(to_read(action, votes), repeat_of=mine.created_at)
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
            refusal = _refusal(deps, action, who, verdict) or _step_up_refusal(
                action, verdict, stepped_up
            )
            if refusal is None:
                how = _Auth(auth or _PLATFORM_AUTH.get(platform, platform), stepped_up)
                await _vote(
                    session, action, votes, who, verdict, clean_reason, platform, how, events
                )
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
    return Cast(read)


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


_PLATFORM_AUTH = {"api": "api_key"}


@dataclass(frozen=True, slots=True)
class _Auth:
    method: str
    step_up: str | None


def _step_up_refusal(
    action: ActionRequest, verdict: str, stepped_up: str | None
) -> StepUpRequired | None:
    if verdict != "approve" or action.step_up is None:
        return None
    needed = StepUp(action.step_up)
    if needed.accepts(stepped_up.split(":", 1)[0] if stepped_up else None):
        return None
    return StepUpRequired(
        f"approving this request needs step-up confirmation ({needed.words}): open "
        f"/ui/actions/{action.id} on the approvals web page and approve there; chat buttons, "
        "API keys and a plain web vote can only deny it"
    )


async def _vote(
    session: AsyncSession,
    action: ActionRequest,
    votes: list[Vote],
    who: str,
    verdict: str,
    reason: str | None,
    platform: str,
    how: _Auth,
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
        auth=how.method,
        step_up=how.step_up,
        created_at=now,
    )
    session.add(vote)
    await session.flush()
    events.append(
        NewEvent(
            "vote",
            who,
            action.id,
            {
                "verdict": verdict,
                "platform": platform,
                "auth": how.method,
                "step_up": how.step_up,
                "has_reason": reason is not None,
            },
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
            raise NotFound("no action request with this id")
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
