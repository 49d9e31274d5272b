"""The public JSON contract of /v1/actions (what pipelines send and read back)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, model_validator

from approvals.actions.states import Status
from approvals.kit.identity import normalise

# Stored and compared in the one canonical spelling (kit.identity); a value that is not an
# identity is a 422 whose message does not repeat it.
Identity = Annotated[str, AfterValidator(normalise)]

_EXAMPLE: dict[str, Any] = {
    "action": "s3.export",
    "resource": "s3://clinical-exports/2026-11",
    "requester": "svc:nightly-etl",
    "on_behalf_of": "alice@example.org",
    "environment": "prod",
    "justification": "retrain readmission model v7",
    "params": {"sql": "SELECT * FROM encounters WHERE discharged_at >= '2026-10-01'"},
    "context": {"sample_rows": [{"patient": "John Smith", "mrn": "12345678"}]},
    "callback_url": "https://ci.example.org/hooks/approvals",
    "ttl_seconds": 3600,
}


class ActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    action: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$",
        description="What will run, as a dotted name, e.g. `sql.execute`.",
    )
    resource: str = Field(
        min_length=1, max_length=2000, description="What it runs on, e.g. `s3://bucket/prefix`."
    )
    requester: Identity | None = Field(
        None,
        max_length=1000,
        description="Who asks; defaults to the API client's identity. An email address or "
        "a service name, stored in canonical form (see docs/architecture.md, Identities).",
    )
    on_behalf_of: Identity | None = Field(
        None, max_length=1000, description="The person the request is for; same form."
    )
    environment: str = Field(
        "prod",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Absent means prod, so policy errs on the strict side.",
    )
    justification: str | None = Field(None, max_length=4000)
    params: dict[str, Any] = Field(
        default_factory=dict, description="The command itself: `sql`, `command`, ..."
    )
    context: dict[str, Any] = Field(
        default_factory=dict, description="What reviewers should see; PHI is redacted."
    )
    tags: list[str] = Field(default_factory=list, max_length=20)
    callback_url: HttpUrl | None = None
    ttl_seconds: int | None = Field(
        None, ge=60, le=7 * 86400, description="Shortens the policy's TTL; never extends it."
    )

    @model_validator(mode="after")
    def _json_numbers(self) -> ActionCreate:
        _finite(self.params, "params")
        _finite(self.context, "context")
        return self


def _finite(value: Any, field: str) -> None:
    """NaN and Infinity are not JSON; PostgreSQL would refuse them after validation.

    The message names the top-level field only: nested keys may themselves be PHI.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{field} holds NaN or Infinity, which is not a JSON number")
    if isinstance(value, dict):
        for item in value.values():
            _finite(item, field)
    elif isinstance(value, list):
        for item in value:
            _finite(item, field)


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"verdict": "deny", "reason": "use the de-identified view"}]
        },
    )

    verdict: Literal["approve", "deny"]
    reason: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _deny_needs_reason(self) -> DecisionIn:
        if self.verdict == "deny" and not (self.reason and self.reason.strip()):
            raise ValueError("a deny needs a reason: the requester is told why")
        return self


class VoteRead(BaseModel):
    approver: str
    verdict: str
    reason: str | None
    platform: str
    auth: str | None = Field(
        None, description="How the voter was authenticated: api_key, sso, slack or teams."
    )
    step_up: str | None = Field(
        None, description="The step-up confirmed for this vote: oidc or passkey:<credential id>."
    )
    at: datetime


class GuardrailRead(BaseModel):
    code: str
    severity: str
    message: str


class FindingRead(BaseModel):
    path: str
    type: str
    detector: str
    count: int


class RedactionRead(BaseModel):
    summary: dict[str, int]
    findings: list[FindingRead]


class PolicyRead(BaseModel):
    rule: str
    version: str
    message: str | None


class CallbackRead(BaseModel):
    id: str = Field(description="The delivery id, sent as X-Approvals-Delivery.")
    event: str
    state: str = Field(description="pending, delivered, or dead (dead-lettered).")
    attempts: int
    last_status: int | None


Execution = Literal["succeeded", "failed"]


class ActionRead(BaseModel):
    id: str
    status: Status
    action: str
    resource: str
    requester: str
    on_behalf_of: str | None
    environment: str
    justification: str | None
    params: dict[str, Any]
    context: dict[str, Any]
    tags: list[str]
    risk: str
    guardrails: list[GuardrailRead]
    redaction: RedactionRead
    payload_digest: str
    policy: PolicyRead
    required_approvals: int
    approver_groups: list[str]
    channels: list[str]
    escalate_to: list[str]
    step_up: str | None = Field(
        None,
        description="any (a passkey or a fresh single sign-on), passkey or oidc: an approval "
        "counts only after that confirmation on the web page; null: a plain vote counts.",
    )
    approvals: int
    votes: list[VoteRead]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    verdict: str | None = Field(
        description="The decision (approved, auto_approved, denied, expired, cancelled, "
        "blocked); it stays when `status` moves on to released, rejected or executed."
    )
    execution: Execution | None = Field(
        None,
        description="The outcome the requester reported with POST /v1/actions/{id}/executed, "
        "once `status` is executed; None before that.",
    )
    decided_by: str | None
    decision_reason: str | None
    release_token: str | None = Field(
        None,
        description="For the requesting client only, once released; when policy "
        "auto-approved, from the submit's 201 on. Verify offline against GET /v1/keys and "
        "the digest of what you submitted, run exactly that, then present it to "
        "POST /v1/actions/{id}/executed (once).",
    )
    release_expires_at: datetime | None = None
    callbacks: list[CallbackRead] = Field(default_factory=list)


class ActionPage(BaseModel):
    items: list[ActionRead]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


# The 201 of a submit the policy auto-approved: the release token is in the answer.
AUTO_APPROVED_EXAMPLE: dict[str, Any] = {
    "id": "01a23c9e-2b1f-7c41-9d0e-5f6a7b8c9d0e",
    "status": "auto_approved",
    "action": "sql.execute",
    "resource": "db.dev.scratch",
    "requester": "svc:nightly-etl",
    "on_behalf_of": None,
    "environment": "dev",
    "justification": "refresh the scratch table",
    "params": {"sql": "UPDATE scratch SET refreshed_at = now()"},
    "context": {},
    "tags": [],
    "risk": "low",
    "guardrails": [],
    "redaction": {"summary": {}, "findings": []},
    "payload_digest": "sha256:3f0c5e1a9b7d2c4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e",
    "policy": {"rule": "dev-auto", "version": "sha256:daa3c6939a3048ba", "message": None},
    "required_approvals": 0,
    "approver_groups": [],
    "channels": [],
    "escalate_to": [],
    "step_up": None,
    "approvals": 0,
    "votes": [],
    "created_at": "2026-12-03T17:00:00.120000Z",
    "updated_at": "2026-12-03T17:00:00.120000Z",
    "expires_at": "2026-12-03T18:00:00.120000Z",
    "decided_at": "2026-12-03T17:00:00.120000Z",
    "verdict": "auto_approved",
    "execution": None,
    "decided_by": "policy:dev-auto",
    "decision_reason": None,
    "release_token": "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiIsInR5cCI6ImFwcHJvdmFscy1yZWxl...",
    "release_expires_at": "2026-12-03T17:15:00Z",
    "callbacks": [],
}
