"""Card builders shared by the Teams unit and integration tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from approvals.channels.cards import Card, GuardrailLine, VoteLine

Json = dict[str, Any]


def sample_card(**overrides: Any) -> Card:
    """A realistic pending card; override any field."""
    now = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    values: Json = {
        "action_id": "act_01HZX3",
        "action": "db.export",
        "environment": "production",
        "resource": "postgres://ehr/patients",
        "requester": "etl-bot@example.org",
        "on_behalf_of": "ana@example.org",
        "justification": "Monthly quality report",
        "risk": "high",
        "guardrails": (GuardrailLine("bulk_read", "high", "Reads more than 10,000 rows"),),
        "context_preview": "SELECT count(*) FROM visits WHERE patient_name = '[REDACTED:name]'",
        "full_view_url": "https://approvals.example.org/a/act_01HZX3",
        "redaction_summary": (("name", 2), ("mrn", 1)),
        "policy_rule": "prod-bulk-export",
        "policy_version": "7",
        "status": "pending",
        "approvals_so_far": 0,
        "approvals_required": 2,
        "approver_groups": ("dba-oncall", "privacy-office"),
        "votes": (),
        "created_at": now,
        "expires_at": now + timedelta(hours=4),
    }
    values.update(overrides)
    return Card(**values)


def vote(approver: str, verdict: str = "approve", reason: str | None = None) -> VoteLine:
    return VoteLine(
        approver=approver,
        verdict=verdict,
        reason=reason,
        platform="teams",
        at=datetime.fromtimestamp(time.time(), UTC),
    )
