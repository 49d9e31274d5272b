"""Turn rows into the public read model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from approvals.actions.models import ActionRequest, Vote
from approvals.actions.schemas import (
    ActionRead,
    Execution,
    FindingRead,
    GuardrailRead,
    PolicyRead,
    RedactionRead,
    VoteRead,
)
from approvals.actions.states import Status


def to_read(action: ActionRequest, votes: Sequence[Vote]) -> ActionRead:
    summary: dict[str, int] = {}
    for finding in action.redaction_findings:
        summary[finding["type"]] = summary.get(finding["type"], 0) + int(finding["count"])
    approvers = {vote.approver for vote in votes if vote.verdict == "approve"}
    return ActionRead(
        id=action.id,
        status=Status(action.status),
        action=action.action,
        resource=action.resource,
        requester=action.requester,
        on_behalf_of=action.on_behalf_of,
        environment=action.environment,
        justification=action.justification,
        params=action.params,
        context=action.context,
        tags=action.tags,
        risk=action.risk,
        guardrails=[GuardrailRead.model_validate(g) for g in action.guardrails],
        redaction=RedactionRead(
            summary=dict(sorted(summary.items())),
            findings=[FindingRead.model_validate(f) for f in action.redaction_findings],
        ),
        payload_digest=action.payload_digest,
        policy=PolicyRead(
            rule=action.policy_rule, version=action.policy_version, message=action.policy_message
        ),
        required_approvals=action.required_approvals,
        approver_groups=action.approver_groups,
        channels=action.channels,
        escalate_to=action.escalate_to,
        step_up=action.step_up,
        approvals=len(approvers),
        votes=[
            VoteRead(
                approver=v.approver,
                verdict=v.verdict,
                reason=v.reason,
                platform=v.platform,
                auth=v.auth,
                step_up=v.step_up,
                at=v.created_at,
            )
            for v in votes
        ],
        created_at=action.created_at,
        updated_at=action.updated_at,
        expires_at=action.expires_at,
        decided_at=action.decided_at,
        verdict=action.verdict,
        execution=cast(Execution | None, action.execution),  # the column holds only these
        decided_by=action.decided_by,
        decision_reason=action.decision_reason,
    )
