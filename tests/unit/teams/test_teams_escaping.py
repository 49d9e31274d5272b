"""Request text on a Teams card is inert: no markdown links, mentions, emphasis or templating."""

from __future__ import annotations

import json

from approvals.channels.teams.adaptive_cards import neutralise, render_card
from tests.unit.teams.teams_cards import sample_card

EVIL = "[click](http://evil) <at>@General</at> **x**"


def nodes(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from nodes(value)


def test_justification_renders_inert():
    card = sample_card(justification=EVIL, requester=EVIL, resource=EVIL, context_preview=EVIL)
    rendered = render_card(card, signed_data="v1.x.y.z", show_actions=True)
    holders = [n for n in nodes(rendered) if isinstance(n.get("text"), str) and "evil" in n["text"]]
    assert holders, "the text is still shown"
    # Only TextRuns carry it: hosts render TextRun text literally (no markdown parsing).
    assert {n["type"] for n in holders} == {"TextRun"}
    assert any(n["text"] == EVIL for n in holders)
    # No element turns it into a link or a mention.
    assert not [n for n in nodes(rendered) if "evil" in str(n.get("url", ""))]
    assert "msteams" not in rendered
    assert "entities" not in json.dumps(rendered)
    # Our own TextBlocks (markdown-capable) never contain request text.
    blocks = [n["text"] for n in nodes(rendered) if n.get("type") == "TextBlock"]
    assert not [t for t in blocks if "evil" in t or "<at>" in t]
    assert "evil" not in rendered["fallbackText"]


def test_neutralise_strips_bidi_controls_and_breaks_templates():
    assert neutralise("a\u202eb\x00c\u2066d") == "abcd"
    assert "{{" not in neutralise("{{DATE(2026-01-01T00:00:00Z)}}")
    assert neutralise("line1\nline2") == "line1\nline2"
    assert neutralise("y" * 400, 10) == "y" * 9 + "…"
    assert neutralise(None) == ""
