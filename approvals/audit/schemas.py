"""The JSON contract of /v1/audit and /v1/reports: events, chain status, the evidence report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    event_type: str = Field(description="requested, vote, approved, denied, expired, ...")
    occurred_at: datetime
    actor: str
    action_id: str | None
    payload: dict[str, Any] = Field(description="Findings and ids, never request values.")
    prev_hash: str
    hash: str


class AuditEventPage(BaseModel):
    items: list[AuditEventRead]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class ChainBreakRead(BaseModel):
    seq: int = Field(description="The first event found edited, deleted, inserted or moved.")
    kind: str = Field(description="edited | deleted | inserted | reordered | rewritten")
    problem: str


class ChainStatusRead(BaseModel):
    intact: bool
    events_checked: int
    head_seq: int = Field(description="The sealed range is events 1..head_seq.")
    head_hash: str
    pending_events: int = Field(
        0,
        description="Events appended but not sealed into the chain yet (sealed within "
        "APPROVALS_AUDIT_SEAL_INTERVAL_SECONDS while a server or worker runs); not covered.",
    )
    checkpoints_matched: int = Field(description="Signed external checkpoints that agreed.")
    checkpoint_stores: int = Field(
        0, description="External checkpoint stores configured (0: none, e.g. the embedded default)."
    )
    broken: ChainBreakRead | None
    verified_at: datetime


# --- evidence report ---------------------------------------------------------------------


class Period(BaseModel):
    start: datetime = Field(description="Inclusive.")
    end: datetime = Field(description="Exclusive.")


class ActionRow(BaseModel):
    id: str
    action: str
    environment: str
    resource: str = Field(description="As stored: already redacted.")
    requester: str
    on_behalf_of: str | None
    submitted_by: str
    outcome: str = Field(description="approved | denied | expired | cancelled | blocked | ...")
    status: str = Field(description="The request's status now (it may have moved on).")
    risk: str
    policy_rule: str
    policy_version: str
    approvers: list[str]
    platforms: list[str] = Field(description="Where the votes came from: web, slack, api, ...")
    created_at: datetime
    decided_at: datetime | None
    time_to_decision_seconds: float | None = Field(
        None, description="Human decisions only (approved or denied)."
    )
    execution: str | None = Field(
        None,
        description="What the requester reported after running it: succeeded | failed; "
        "None when nothing was reported.",
    )


class Totals(BaseModel):
    requests: int
    by_outcome: dict[str, int]
    by_action: dict[str, int]
    by_environment: dict[str, int]


class HistogramBucket(BaseModel):
    label: str
    upper_seconds: float | None = Field(description="Exclusive upper bound; None: no bound.")
    count: int


class TimeToDecision(BaseModel):
    decisions: int
    median_seconds: float | None
    p90_seconds: float | None = Field(description="Nearest-rank 90th percentile.")
    histogram: list[HistogramBucket]


class RequestSummary(BaseModel):
    """What every list of the report says of a request, so an auditor reads each row alike."""

    id: str
    action: str
    environment: str
    resource: str
    requester: str


class Denial(RequestSummary):
    denied_by: str | None
    reason: str | None
    decided_at: datetime | None


class Guardrail(BaseModel):
    code: str
    severity: str
    message: str


class Blocked(RequestSummary):
    rule: str
    reason: str | None
    guardrails: list[Guardrail]


class AutoApproved(RequestSummary):
    rule: str
    policy_version: str


class Expired(RequestSummary):
    created_at: datetime
    expires_at: datetime


class SelfApprovalRow(BaseModel):
    action_id: str
    approver: str
    role: str = Field(description="requester | on_behalf_of | submitted_by")
    at: datetime


class SelfApprovalCheck(BaseModel):
    passed: bool
    violations: list[SelfApprovalRow]
    refused_attempts: int = Field(description="Self-approvals the service refused (audited).")


class HighRiskApproval(BaseModel):
    action_id: str
    action: str
    risk: str
    step_up_required: str | None = Field(
        description="What the rule demanded (any, passkey, oidc); null: nothing."
    )
    approver: str
    auth: str | None = Field(description="api_key, sso, slack, teams (null: before recorded).")
    step_up: str | None = Field(description="oidc or passkey:<credential id>; null: none.")
    at: datetime


class StepUpCheck(BaseModel):
    """Every approval of a request whose rule demanded step-up, and of any high or critical
    risk request: how the approver was authenticated and whether they stepped up."""

    passed: bool = Field(description="Every approval that needed step-up had it.")
    approvals: list[HighRiskApproval]


class PolicyVersion(BaseModel):
    version: str
    rules: list[str]
    requests: int
    first_seen: datetime
    last_seen: datetime


class DayCount(BaseModel):
    day: date
    counts: dict[str, int]


class EvidenceReport(BaseModel):
    period: Period
    generated_at: datetime
    totals: Totals
    time_to_decision: TimeToDecision
    actions: list[ActionRow]
    denials: list[Denial]
    blocked: list[Blocked]
    auto_approved: list[AutoApproved]
    expired: list[Expired]
    self_approval: SelfApprovalCheck
    step_up: StepUpCheck
    policy_versions: list[PolicyVersion]
    decisions_per_day: list[DayCount]
    chain: ChainStatusRead
