"""What a reviewer sees in Slack, and what a hostile request cannot make Slack do."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from approvals.channels.cards import GuardrailLine
from approvals.channels.slack.blocks import (
    APPROVE_ACTION_ID,
    DENY_ACTION_ID,
    DENY_CALLBACK_ID,
    REASON_BLOCK_ID,
    deny_modal,
    fallback_text,
    parse_deny_metadata,
    render_blocks,
)
from tests.unit.slack.slack_cards import make_card, vote

OUR_MARKUP = re.compile(
    r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|[0-9: UTC-]+>"
    r"|<https://approvals\.example\.org/review/act_01HXAMPLE\|Open the full redacted view>"
)
HOSTILE = "<!channel> <http://evil|click> *bold* & @here <@U0ADMIN> <#C0GENERAL>"


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every Block Kit text object (mrkdwn/plain_text) and rich-text text element."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text", "text") and "text" in node:
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [t["text"] for t in text_objects(blocks) if t["type"] == "mrkdwn"]


def all_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(t["text"] for t in text_objects(blocks))


def actions_block(blocks: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((b for b in blocks if b["type"] == "actions"), None)


def assert_within_block_kit_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
        assert len(block.get("fields", [])) <= 10
    for text in text_objects(blocks):
        assert len(text["text"]) <= 3000
    assert len(json.dumps(blocks)) < 40_000


class TestPendingCard:
    def test_header_names_action_and_environment(self):
        blocks = render_blocks(make_card())
        assert blocks[0] == {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": "Approval needed: db.query · production",
                "emoji": True,
            },
        }

    def test_shows_who_what_risk_and_why(self):
        text = all_text(render_blocks(make_card()))
        for expected in (
            "deploy-bot@example.org",
            "dana@example.org",
            "postgres://claims-db/claims",
            "HIGH",
            "UPDATE without WHERE",
            "Fix the duplicated claim rows reported in INC-4411.",
            '"patient": "[NAME-1]"',
        ):
            assert expected in text

    def test_controls_applied_lists_redactions_and_policy(self):
        text = all_text(render_blocks(make_card()))
        assert "Controls applied" in text
        assert "2 × NAME, 1 × SSN" in text
        assert "prod-writes-need-dba" in text
        assert "sha256:9f2c1e" in text

    def test_progress_and_votes_so_far(self):
        card = make_card(
            approvals_required=2,
            approvals_so_far=1,
            votes=(vote("ana@example.org", reason="looks right"),),
        )
        text = all_text(render_blocks(card))
        assert "1 of 2 from dba-oncall" in text
        assert "ana@example.org" in text
        assert "looks right" in text
        assert "<!date^" in text  # localised time for each reader

    def test_expiry_shown(self):
        text = all_text(render_blocks(make_card()))
        expires = int(make_card().expires_at.timestamp())
        assert f"Expires <!date^{expires}^" in text

    def test_approve_and_deny_buttons_carry_the_action_id(self):
        actions = actions_block(render_blocks(make_card()))
        assert actions is not None
        approve, deny = actions["elements"]
        assert (approve["action_id"], approve["style"], approve["value"]) == (
            APPROVE_ACTION_ID,
            "primary",
            "act_01HXAMPLE",
        )
        assert (deny["action_id"], deny["style"], deny["value"]) == (
            DENY_ACTION_ID,
            "danger",
            "act_01HXAMPLE",
        )

    def test_high_risk_approve_asks_for_confirmation_low_risk_does_not(self):
        high = actions_block(render_blocks(make_card(risk="high")))
        low = actions_block(render_blocks(make_card(risk="low", guardrails=())))
        assert high is not None
        assert "confirm" in high["elements"][0]
        assert low is not None
        assert "confirm" not in low["elements"][0]

    def test_links_to_the_full_redacted_view(self):
        text = " ".join(mrkdwn_texts(render_blocks(make_card())))
        assert (
            "<https://approvals.example.org/review/act_01HXAMPLE|Open the full redacted view>"
            in (text)
        )

    def test_non_http_full_view_url_is_not_linked(self):
        blocks = render_blocks(make_card(full_view_url="javascript:alert(1)"))
        assert "javascript" not in all_text(blocks)


class TestFinalCard:
    def test_approved_card_has_no_buttons_and_says_who_when_why(self):
        card = make_card(
            status="approved",
            approvals_so_far=1,
            votes=(vote("ana@example.org", reason="checked the WHERE clause"),),
            decided_at=make_card().created_at,
        )
        blocks = render_blocks(card)
        assert actions_block(blocks) is None
        assert blocks[0]["text"]["text"].startswith("Approved:")
        outcome = next(b for b in blocks if b.get("block_id") == "approvals.outcome")
        assert "*Approved*" in outcome["text"]["text"]
        assert "by ana@example.org" in outcome["text"]["text"]
        assert "checked the WHERE clause" in outcome["text"]["text"]
        assert "<!date^" in outcome["text"]["text"]

    def test_denied_card_shows_the_denial_reason(self):
        card = make_card(
            status="denied",
            votes=(vote("ana@example.org", "deny", "wrong database"),),
            decided_at=make_card().created_at,
            decision_reason="wrong database",
        )
        blocks = render_blocks(card)
        assert actions_block(blocks) is None
        assert "wrong database" in all_text(blocks)

    def test_every_final_status_removes_the_buttons(self):
        for status in ("expired", "cancelled", "released", "executed", "blocked"):
            assert actions_block(render_blocks(make_card(status=status))) is None


class TestUntrustedText:
    def test_hostile_text_renders_no_live_mention_or_link(self):
        card = make_card(
            action=HOSTILE,
            environment=HOSTILE,
            resource=HOSTILE,
            requester=HOSTILE,
            on_behalf_of=HOSTILE,
            justification=HOSTILE,
            context_preview=HOSTILE,
            guardrails=(GuardrailLine(HOSTILE, HOSTILE, HOSTILE),),
            policy_rule=HOSTILE,
            votes=(vote(HOSTILE, reason=HOSTILE),),
            approver_groups=(HOSTILE,),
        )
        for rendered in (card, make_card(status="denied", decision_reason=HOSTILE)):
            for text in mrkdwn_texts(render_blocks(rendered)):
                # The only markup left is our own: dates and the full-view link.
                stripped = OUR_MARKUP.sub("", text)
                assert "<" not in stripped, text
                assert ">" not in stripped, text
        guardrail = next(t for t in mrkdwn_texts(render_blocks(card)) if "Why this risk" in t)
        assert "&lt;!channel&gt; &lt;http://evil|click&gt; *bold* &amp; @here" in guardrail

    def test_justification_is_literal_rich_text(self):
        blocks = render_blocks(make_card(justification=HOSTILE))
        rich = [b for b in blocks if b["type"] == "rich_text"]
        literal = [e["text"] for b in rich for el in b["elements"] for e in el["elements"]]
        assert HOSTILE in literal  # rich text elements are never parsed for mentions or links

    def test_mrkdwn_text_is_verbatim(self):
        for text in text_objects(render_blocks(make_card(justification=HOSTILE))):
            if text["type"] == "mrkdwn":
                assert text["verbatim"] is True

    def test_fallback_text_is_escaped(self):
        text = fallback_text(make_card(action=HOSTILE, requester=HOSTILE))
        assert "<!channel>" not in text
        assert "&lt;!channel&gt;" in text

    def test_fallback_text_styles_nothing_from_the_request(self):
        text = fallback_text(make_card(resource="*x* _y_ ~z~ `w`", requester="a_b*c@example.org"))
        assert not set("*_~`") & set(text)  # no character Slack would read as a style marker
        assert "\u2217x\u2217 \u02cdy\u02cd \u223cz\u223c \u02cbw\u02cb" in text


class TestBlockKitLimits:
    def test_huge_context_is_truncated_with_a_link(self):
        card = make_card(
            context_preview="x" * 100_000,
            justification="j" * 10_000,
            guardrails=tuple(GuardrailLine(f"g{i}", "high", "m" * 900) for i in range(200)),
            votes=tuple(vote(f"r{i}@example.org", reason="r" * 900) for i in range(300)),
            redaction_summary=tuple((f"TYPE{i}", i) for i in range(500)),
            resource="r" * 5000,
            action="a" * 500,
        )
        blocks = render_blocks(card)
        assert_within_block_kit_limits(blocks)
        text = all_text(blocks)
        assert "Preview truncated" in text
        assert "Open the full redacted view" in text

    def test_truncation_never_splits_an_html_entity(self):
        blocks = render_blocks(make_card(resource="&" * 5000))
        field = next(f for f in blocks[1]["fields"] if f["text"].startswith("*Resource*"))
        body = field["text"].split("\n", 1)[1]
        assert body.endswith("&amp;…")
        assert len(field["text"]) <= 2000


class TestDenyModal:
    def test_modal_asks_for_a_required_multiline_reason(self):
        view = deny_modal("act_01HXAMPLE", channel_id="C0REVIEW", message_ts="1700000000.000100")
        assert view["type"] == "modal"
        assert view["callback_id"] == DENY_CALLBACK_ID
        field = next(b for b in view["blocks"] if b["type"] == "input")
        assert field["block_id"] == REASON_BLOCK_ID
        assert field["optional"] is False
        assert field["element"]["multiline"] is True
        for key in ("title", "submit", "close"):
            assert len(view[key]["text"]) <= 24

    def test_private_metadata_round_trips_the_request_and_message(self):
        view = deny_modal("act_01HXAMPLE", channel_id="C0REVIEW", message_ts="1700000000.000100")
        context = parse_deny_metadata(view["private_metadata"])
        assert context is not None
        assert context.action_id == "act_01HXAMPLE"
        assert (context.channel_id, context.message_ts) == ("C0REVIEW", "1700000000.000100")

    def test_unreadable_metadata_is_rejected(self):
        assert parse_deny_metadata("act_01HXAMPLE") is None
        assert parse_deny_metadata('{"channel_id": "C1"}') is None
