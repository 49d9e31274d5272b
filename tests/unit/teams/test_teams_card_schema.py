"""Every card the Teams renderer emits validates against the official Adaptive Card 1.5 schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import jsonschema
import pytest

from approvals.channels.base import Notice
from approvals.channels.cards import GuardrailLine
from approvals.channels.teams.adaptive_cards import (
    DENY_REASON_INPUT,
    VERB_APPROVE,
    VERB_DENY,
    VERB_REFRESH,
    render_card,
    render_notice_card,
    render_requester_notice,
)
from approvals.channels.teams.signing import sign_action_ref
from tests.unit.teams.teams_cards import sample_card, vote

SCHEMA = Path(__file__).parents[2] / "fixtures" / "adaptive-card-1.5.schema.json"
REF = sign_action_ref("act_01HZX3", "tenant-1", b"k" * 32)


@cache
def validator() -> jsonschema.Draft6Validator:
    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft6Validator(schema)


def assert_valid(card: dict) -> None:
    errors = sorted(validator().iter_errors(card), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors]


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_the_schema_rejects_what_it_should():
    assert list(validator().iter_errors({"type": "AdaptiveCard", "body": [{"type": "Nope"}]}))


@pytest.mark.parametrize(
    ("overrides", "show_actions", "refresh"),
    [
        ({}, True, ()),
        ({}, False, ("aad-1", "aad-2")),
        ({"votes": (vote("a@example.org"), vote("b@example.org", "deny", "too broad"))}, True, ()),
        (
            {
                "status": "approved",
                "decided_at": datetime(2026, 1, 5, 15, 0, tzinfo=UTC),
                "decision_reason": "2 of 2",
            },
            True,
            ("aad-1",),
        ),
        ({"status": "expired", "justification": None, "on_behalf_of": None}, False, ()),
        ({"full_view_url": "javascript:alert(1)", "redaction_summary": ()}, True, ()),
    ],
)
def test_rendered_cards_validate(overrides, show_actions, refresh):
    card = render_card(
        sample_card(**overrides),
        signed_data=REF,
        show_actions=show_actions,
        refresh_user_ids=refresh,
        notice="You cannot approve your own request.",
    )
    assert card["version"] == "1.5"
    assert_valid(card)


def test_notice_card_validates():
    assert_valid(render_notice_card("This request belongs to another organisation."))


def test_pending_card_with_actions_has_approve_and_required_deny_reason():
    card = render_card(sample_card(), signed_data=REF, show_actions=True)
    approve, deny = card["actions"]
    assert approve == {
        "type": "Action.Execute",
        "title": "Approve",
        "verb": VERB_APPROVE,
        "style": "positive",
        "data": {"ref": REF},
    }
    assert deny["type"] == "Action.ShowCard"
    reason = deny["card"]["body"][0]
    assert reason["id"] == DENY_REASON_INPUT
    assert reason["isRequired"] is True
    execute = deny["card"]["actions"][0]
    assert (execute["type"], execute["verb"], execute["data"]) == (
        "Action.Execute",
        VERB_DENY,
        {"ref": REF},
    )


def test_refresh_targets_approvers_only_while_pending():
    card = render_card(
        sample_card(),
        signed_data=REF,
        show_actions=False,
        refresh_user_ids=("aad-1", "aad-1", "aad-2"),
    )
    assert "actions" not in card
    assert card["refresh"]["userIds"] == ["aad-1", "aad-2"]
    assert card["refresh"]["action"]["verb"] == VERB_REFRESH
    final = render_card(
        sample_card(status="denied"),
        signed_data=REF,
        show_actions=True,
        refresh_user_ids=("aad-1",),
    )
    assert "refresh" not in final
    assert "actions" not in final


def test_card_shows_controls_votes_progress_and_truncates_context():
    card = sample_card(
        context_preview="x" * 5000,
        guardrails=tuple(GuardrailLine(f"g{i}", "high", "m") for i in range(14)),
        votes=(vote("dba@example.org", "approve", "ok"),),
        approvals_so_far=1,
    )
    rendered = render_card(card, signed_data=REF, show_actions=True)
    text = " ".join(n["text"] for n in walk(rendered) if n.get("type") in ("TextRun", "TextBlock"))
    for expected in (
        "etl-bot@example.org",
        "ana@example.org",
        "postgres://ehr/patients",
        "prod-bulk-export (version 7)",
        "name × 2",
        "mrn × 1",
        "dba@example.org",
        "1 of 2 from dba-oncall, privacy-office",
        "Expires",
        "… and 4 more",
    ):
        assert expected in text, expected
    assert "x" * 1500 not in text
    assert "x" * 1499 + "…" in text
    urls = [n["url"] for n in walk(rendered) if n.get("type") == "Action.OpenUrl"]
    assert urls == ["https://approvals.example.org/a/act_01HZX3"]
    assert len(json.dumps(rendered)) < 28_000


@pytest.mark.parametrize("event", ["posted", "approved", "denied", "expired", "released"])
def test_requester_notices_validate_and_keep_untrusted_text_literal(event: str) -> None:
    notice = Notice(
        action_id="act_1",
        event=event,
        action="[click](https://evil.example) **sql.execute**",
        environment="prod",
        resource="db.prod.encounters {{DATE(2020-01-01T00:00:00Z)}}",
        requester="svc:etl",
        on_behalf_of="alice@example.org",
        approver_groups=("dba-oncall",),
        decided_by="bob@example.org" if event in ("approved", "denied") else None,
        reason="<at>everyone</at> not now" if event == "denied" else None,
        at=datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        url="https://approvals.example.org/ui/actions/act_1",
    )
    card = render_requester_notice(notice, "alice@example.org")
    assert_valid(card)
    kinds = {node.get("type") for node in walk(card) if isinstance(node, dict)}
    assert "TextBlock" not in kinds  # every word is a literal TextRun: no markdown, no mentions
    runs = " ".join(
        n["text"] for n in walk(card) if isinstance(n, dict) and n.get("type") == "TextRun"
    )
    assert "{{DATE(2020" not in runs  # the requester's braces cannot template
    assert runs.startswith("A request on your behalf by svc:etl")
