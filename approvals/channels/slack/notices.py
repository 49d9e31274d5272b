"""The requester's direct message, in mrkdwn. Pure. No I/O.

Every field is untrusted (a requester wrote the action and resource, a reviewer the reason):
each is escaped (`&`, `<`, `>`) and the section is `verbatim`, so a notice can never mention
`@channel`/people or carry a forged link. Only the request page's link is ours.
"""

from __future__ import annotations

from typing import Any

from approvals.channels.base import Notice
from approvals.channels.notices import outcome, subject
from approvals.channels.slack.blocks import escape_mrkdwn, render_when, safe_url

MAX_TEXT = 3000
MAX_PART = 500

_EMOJI = {
    "posted": ":hourglass_flowing_sand:",
    "approved": ":white_check_mark:",
    "denied": ":no_entry:",
    "expired": ":alarm_clock:",
    "released": ":rocket:",
}


def _e(text: str, limit: int = MAX_PART) -> str:
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return escape_mrkdwn(cut)


def dm_text(notice: Notice, recipient: str) -> str:
    """One message per person; says whose request it is, what happened, who decided, why."""
    whose = subject(notice, recipient, _e)
    what = f"*{_e(notice.action)}* on {_e(notice.resource)} ({_e(notice.environment)})"
    happened = outcome(notice, _e, render_when)
    lines = [f"{_EMOJI.get(notice.event, '•')} {whose} {what} {happened}"]
    if notice.reason:
        lines.append(f"Reason: “{_e(notice.reason, 1500)}”")
    url = safe_url(notice.url)
    link = f"\n<{url}|Open the request>" if url is not None else ""
    # Block Kit refuses a section over 3,000 characters; the link must survive any cut.
    return "\n".join(lines)[: MAX_TEXT - len(link)] + link


def dm_blocks(text: str) -> list[dict[str, Any]]:
    # verbatim: Slack must not auto-link names, channels or bare URLs inside our text.
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}]
