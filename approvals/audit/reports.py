"""Build the evidence report for a period from the approval history. Read-only.

The period holds the requests *created* in [start, end). A request's outcome and decision
time come from its audit events (immutable, hash-chained), not from its status column,
which moves on (approved → released → executed). Figures: time-to-decision counts human
decisions only (approved, denied); p90 is the nearest-rank percentile.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.actions.models import ActionRequest, Vote
from approvals.audit import schemas as s
from approvals.audit.models import AuditEvent
from approvals.audit.service import ChainStatus
from approvals.kit.identity import identity_key

DECISIONS = ("approved", "denied", "expired", "cancelled", "blocked", "auto_approved")
HUMAN = ("approved", "denied")
BUCKETS: list[tuple[str, float | None]] = [
    ("< 1 min", 60),
    ("1–5 min", 300),
    ("5–15 min", 900),
    ("15–60 min", 3600),
    ("1–4 h", 4 * 3600),
    ("≥ 4 h", None),
]


def chain_read(status: ChainStatus, at: datetime, stores: int = 0) -> s.ChainStatusRead:
    broken = status.broken
    return s.ChainStatusRead(
        intact=status.intact,
        events_checked=status.events_checked,
        head_seq=status.head_seq,
        head_hash=status.head_hash,
        checkpoints_matched=status.checkpoints_matched,
        checkpoint_stores=stores,
        pending_events=status.pending_events,
        broken=s.ChainBreakRead(seq=broken.seq, kind=broken.kind.value, problem=broken.problem)
        if broken
        else None,
        verified_at=at,
    )


def p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def histogram(values: Sequence[float]) -> list[s.HistogramBucket]:
    counts = Counter[str]()
    for value in values:
        label = next(lbl for lbl, upper in BUCKETS if upper is None or value < upper)
        counts[label] += 1
    return [
        s.HistogramBucket(label=lbl, upper_seconds=up, count=counts[lbl]) for lbl, up in BUCKETS
    ]


def _self_approvals(
    requests: Sequence[ActionRequest], votes: dict[str, list[Vote]]
) -> list[s.SelfApprovalRow]:
    found: list[s.SelfApprovalRow] = []
    for request in requests:
        roles = {
            "requester": request.requester,
            "on_behalf_of": request.on_behalf_of,
            "submitted_by": request.submitted_by,
        }
        for vote in votes[request.id]:
            if vote.verdict != "approve":
                continue
            who = identity_key(vote.approver)
            role = next(
                (r for r, ident in roles.items() if who and identity_key(ident) == who), None
            )
            if role is not None:
                found.append(
                    s.SelfApprovalRow(
                        action_id=request.id, approver=vote.approver, role=role, at=vote.created_at
                    )
                )
    return found


_HIGH_RISK = {"high", "critical"}


def _step_up(requests: Sequence[ActionRequest], votes: dict[str, list[Vote]]) -> s.StepUpCheck:
    rows = [
        s.HighRiskApproval(
            action_id=request.id,
            action=request.action,
            risk=request.risk,
            step_up_required=request.step_up,
            approver=vote.approver,
            auth=vote.auth,
            step_up=vote.step_up,
            at=vote.created_at,
        )
        for request in requests
        if request.step_up is not None or request.risk in _HIGH_RISK
        for vote in votes[request.id]
        if vote.verdict == "approve"
    ]
    passed = all(row.step_up for row in rows if row.step_up_required)
    return s.StepUpCheck(passed=passed, approvals=rows)


def _policy_versions(requests: Sequence[ActionRequest]) -> list[s.PolicyVersion]:
    grouped: dict[str, list[ActionRequest]] = defaultdict(list)
    for request in requests:
        grouped[request.policy_version].append(request)
    return [
        s.PolicyVersion(
            version=version,
            rules=sorted({r.policy_rule for r in rows}),
            requests=len(rows),
            first_seen=min(r.created_at for r in rows),
            last_seen=max(r.created_at for r in rows),
        )
        for version, rows in sorted(
            grouped.items(), key=lambda kv: min(r.created_at for r in kv[1])
        )
    ]


async def build(
    session: AsyncSession, start: datetime, end: datetime, chain: s.ChainStatusRead
) -> s.EvidenceReport:
    in_period = select(ActionRequest.id).where(
        ActionRequest.created_at >= start, ActionRequest.created_at < end
    )
    requests = list(
        (
            await session.execute(
                select(ActionRequest)
                .where(ActionRequest.id.in_(in_period))
                .order_by(ActionRequest.created_at, ActionRequest.id)
            )
        ).scalars()
    )
    votes: dict[str, list[Vote]] = defaultdict(list)
    for vote in (
        await session.execute(
            select(Vote).where(Vote.action_id.in_(in_period)).order_by(Vote.created_at)
        )
    ).scalars():
        votes[vote.action_id].append(vote)
    decided: dict[str, AuditEvent] = {}
    executions: dict[str, str] = {}
    refused_self = 0
    for event in (
        await session.execute(
            select(AuditEvent)
            .where(
                AuditEvent.action_id.in_(in_period),
                AuditEvent.event_type.in_([*DECISIONS, "refused_vote", "executed"]),
            )
            .order_by(AuditEvent.id)  # the last decision wins, sealed yet or not
        )
    ).scalars():
        if event.event_type == "refused_vote":
            refused_self += event.payload.get("refusal") == "self_approval"
        elif event.event_type == "executed":
            if event.action_id is not None:
                executions[event.action_id] = str(event.payload.get("outcome", ""))
        elif event.action_id is not None:
            decided[event.action_id] = event

    rows = [
        _row(request, votes[request.id], decided.get(request.id), executions.get(request.id))
        for request in requests
    ]
    waits = [
        row.time_to_decision_seconds for row in rows if row.time_to_decision_seconds is not None
    ]
    by_id = {request.id: request for request in requests}
    violations = _self_approvals(requests, votes)
    return s.EvidenceReport(
        period=s.Period(start=start, end=end),
        generated_at=chain.verified_at,
        totals=s.Totals(
            requests=len(rows),
            by_outcome=dict(sorted(Counter(row.outcome for row in rows).items())),
            by_action=dict(sorted(Counter(row.action for row in rows).items())),
            by_environment=dict(sorted(Counter(row.environment for row in rows).items())),
        ),
        time_to_decision=s.TimeToDecision(
            decisions=len(waits),
            median_seconds=statistics.median(waits) if waits else None,
            p90_seconds=p90(waits),
            histogram=histogram(waits),
        ),
        actions=rows,
        denials=[
            s.Denial(
                **_summary(row),
                denied_by=by_id[row.id].decided_by,
                reason=by_id[row.id].decision_reason,
                decided_at=row.decided_at,
            )
            for row in rows
            if row.outcome == "denied"
        ],
        blocked=[
            s.Blocked(
                **_summary(row),
                rule=row.policy_rule,
                reason=by_id[row.id].policy_message,
                guardrails=[s.Guardrail.model_validate(g) for g in by_id[row.id].guardrails],
            )
            for row in rows
            if row.outcome == "blocked"
        ],
        auto_approved=[
            s.AutoApproved(
                **_summary(row),
                rule=row.policy_rule,
                policy_version=row.policy_version,
            )
            for row in rows
            if row.outcome == "auto_approved"
        ],
        expired=[
            s.Expired(
                **_summary(row),
                created_at=row.created_at,
                expires_at=by_id[row.id].expires_at,
            )
            for row in rows
            if row.outcome == "expired"
        ],
        self_approval=s.SelfApprovalCheck(
            passed=not violations, violations=violations, refused_attempts=refused_self
        ),
        step_up=_step_up(requests, votes),
        policy_versions=_policy_versions(requests),
        decisions_per_day=_per_day(rows),
        chain=chain,
    )


def _summary(row: s.ActionRow) -> dict[str, str]:
    return {f: getattr(row, f) for f in s.RequestSummary.model_fields}


def _row(
    request: ActionRequest, votes: list[Vote], decision: AuditEvent | None, execution: str | None
) -> s.ActionRow:
    outcome = decision.event_type if decision else "pending"
    decided_at = decision.occurred_at if decision else None
    wait = (
        (decided_at - request.created_at).total_seconds()
        if decided_at is not None and outcome in HUMAN
        else None
    )
    return s.ActionRow(
        id=request.id,
        action=request.action,
        environment=request.environment,
        resource=request.resource,
        requester=request.requester,
        on_behalf_of=request.on_behalf_of,
        submitted_by=request.submitted_by,
        outcome=outcome,
        status=request.status,
        risk=request.risk,
        policy_rule=request.policy_rule,
        policy_version=request.policy_version,
        approvers=[v.approver for v in votes if v.verdict == "approve"],
        platforms=sorted({v.platform for v in votes}),
        created_at=request.created_at,
        decided_at=decided_at,
        time_to_decision_seconds=wait,
        execution=execution or None,
    )


def _per_day(rows: Sequence[s.ActionRow]) -> list[s.DayCount]:
    days: dict[date, Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row.decided_at is not None:
            days[row.decided_at.date()][row.outcome] += 1
    return [s.DayCount(day=day, counts=dict(sorted(days[day].items()))) for day in sorted(days)]
