"""The platform-neutral approval card: what every platform renders. Pure.

Every text field here is already redacted, and still untrusted: each renderer escapes it for
its own markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from approvals.actions.schemas import ActionRead
from approvals.policy.decision import StepUp

FINAL_STATUSES = frozenset(
    {
        "approved",
        "auto_approved",
        "denied",
        "expired",
        "cancelled",
        "blocked",
        "released",
        "rejected",
        "executed",
    }
)


@dataclass(frozen=True, slots=True)
class GuardrailLine:
    code: str
    severity: str
    message: str


@dataclass(frozen=True, slots=True)
class VoteLine:
    approver: str
    verdict: str  # "approve" | "deny"
    reason: str | None
    platform: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Card:
    action_id: str
    action: str
    environment: str
    resource: str
    requester: str
    on_behalf_of: str | None
    justification: str | None
    risk: str
    guardrails: tuple[GuardrailLine, ...]
    context_preview: str
    full_view_url: str
    redaction_summary: tuple[tuple[str, int], ...]
    policy_rule: str
    policy_version: str
    status: str
    approvals_so_far: int
    approvals_required: int
    approver_groups: tuple[str, ...]
    votes: tuple[VoteLine, ...]
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    decision_reason: str | None = None
    # How an approver must step up (StepUp.words), when the policy rule demands it.
    step_up: str | None = None

    @property
    def step_up_note(self) -> str | None:
        """What a chat reviewer must know before pressing Approve on such a request."""
        if self.step_up is None or self.is_final:
            return None
        return (
            f"Approving needs step-up ({self.step_up}): approve on the web page "
            "(the full view link); Deny works here."
        )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def progress(self) -> str:
        """'1 of 2 from dba-oncall, privacy-office' — the line a reviewer reads first."""
        groups = ", ".join(self.approver_groups)
        return f"{self.approvals_so_far} of {self.approvals_required} from {groups}"


def build_card(action: ActionRead, public_url: str) -> Card:
    """The card for one request as it stands now (every platform renders this)."""
    context = orjson.dumps(action.context, option=orjson.OPT_INDENT_2).decode()
    return Card(
        action_id=action.id,
        action=action.action,
        environment=action.environment,
        resource=action.resource,
        requester=action.requester,
        on_behalf_of=action.on_behalf_of,
        justification=action.justification,
        risk=action.risk,
        guardrails=tuple(GuardrailLine(g.code, g.severity, g.message) for g in action.guardrails),
        context_preview=context,
        full_view_url=f"{public_url.rstrip('/')}/ui/actions/{action.id}",
        redaction_summary=tuple(action.redaction.summary.items()),
        policy_rule=action.policy.rule,
        policy_version=action.policy.version,
        status=action.status.value,
        approvals_so_far=action.approvals,
        approvals_required=action.required_approvals,
        approver_groups=tuple(action.approver_groups),
        votes=tuple(
            VoteLine(v.approver, v.verdict, v.reason, v.platform, v.at) for v in action.votes
        ),
        created_at=action.created_at,
        expires_at=action.expires_at,
        decided_at=action.decided_at,
        decision_reason=action.decision_reason,
        step_up=StepUp(action.step_up).words if action.step_up else None,
    )
