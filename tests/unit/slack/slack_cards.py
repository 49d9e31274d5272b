"""Typed card builder for the Slack adapter tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from approvals.channels.cards import Card, GuardrailLine, VoteLine

NOW = datetime(2025, 3, 4, 15, 30, tzinfo=UTC)


def make_card(**overrides: Any) -> Card:
    card = Card(
        action_id="act_01HXAMPLE",
        action="db.query",
        environment="production",
        resource="postgres://claims-db/claims",
        requester="deploy-bot@example.org",
        on_behalf_of="dana@example.org",
        justification="Fix the duplicated claim rows reported in INC-4411.",
        risk="high",
        guardrails=(GuardrailLine("sql.update_without_where", "high", "UPDATE without WHERE"),),
        context_preview='{"patient": "[NAME-1]", "ssn": "[SSN-1]", "rows": 12}',
        full_view_url="https://approvals.example.org/review/act_01HXAMPLE",
        redaction_summary=(("NAME", 2), ("SSN", 1)),
        policy_rule="prod-writes-need-dba",
        policy_version="sha256:9f2c1e",
        status="pending",
        approvals_so_far=0,
        approvals_required=1,
        approver_groups=("dba-oncall",),
        votes=(),
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )
    return replace(card, **overrides)


def vote(approver: str, verdict: str = "approve", reason: str | None = None) -> VoteLine:
    return VoteLine(approver=approver, verdict=verdict, reason=reason, platform="slack", at=NOW)
