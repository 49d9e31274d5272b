"""Block Kit for "what is waiting for me": the App Home tab and `/approvals pending`. Pure.

A reviewer who missed the channel post (or was never in that channel) still finds every
request they can decide, soonest to expire first, with the same buttons as the card.
"""

from __future__ import annotations

from typing import Any

from approvals.channels.cards import Card
from approvals.channels.slack.blocks import Block, escape_mrkdwn, safe_url, summary_blocks

COMMAND = "/approvals"
# Two blocks per request plus a header and footer stays under a message's 50-block limit.
MAX_LISTED = 20

USAGE = (
    f"*{COMMAND}* shows what waits for your decision.\n"
    f"• `{COMMAND}` or `{COMMAND} pending`: requests you can still approve or deny\n"
    f"• `{COMMAND} show ID`: one request's full card (if you asked for it or review it)\n"
    f"• `{COMMAND} help`: this text"
)


def pending_blocks(cards: list[Card], *, more: bool, web_url: str) -> list[Block]:
    """The list itself, shared by the Home tab and the slash command's answer."""
    if not cards:
        return [_text("Nothing is waiting for your decision. :tada:")]
    count = f"{len(cards)}{'+' if more else ''}"
    noun = "request" if len(cards) == 1 and not more else "requests"
    blocks: list[Block] = [_context(f"{count} {noun}, the soonest to expire first.")]
    for card in cards:
        blocks += [{"type": "divider"}, *summary_blocks(card)]
    if more:
        url = safe_url(web_url.rstrip("/") + "/ui")
        tail = f"<{url}|the web page>" if url else "the web page"
        blocks.append(_context(f"Only the first {len(cards)} are shown here; see {tail}."))
    return blocks


def home_view(cards: list[Card], *, more: bool, web_url: str) -> dict[str, Any]:
    """`views.publish` payload: refreshed each time the reviewer opens the tab or decides."""
    header = {"type": "header", "text": {"type": "plain_text", "text": "Waiting for you"}}
    return {"type": "home", "blocks": [header, *pending_blocks(cards, more=more, web_url=web_url)]}


def notice_blocks(message: str) -> list[Block]:
    """A one-line answer (refusal, not found) as blocks, escaped like every other text."""
    return [_text(escape_mrkdwn(message))]


def _text(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}}


def _context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn, "verbatim": True}]}
