"""Slash command, App Home and Home-tab click payloads, in the shapes Slack sends them.

Field sets follow Slack's docs for slash commands (form-encoded fields, `response_url`,
`trigger_id`), the `app_home_opened` Events API envelope, and `block_actions` whose container
is a view (`"type": "view"`, no `channel` and no `message`).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from approvals.channels.slack.blocks import APPROVE_ACTION_ID
from approvals.channels.slack.lists import COMMAND
from tests.integration.slack.slack_harness import TEAM_ID, slack_user


def slash_command(*, user_id: str, text: str, response_url: str, team_id: str = TEAM_ID) -> str:
    """The form body Slack POSTs for `/approvals <text>` typed in #reviewers."""
    fields = {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "approvals-test",
        "channel_id": "C0REVIEWERS",
        "channel_name": "reviewers",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": COMMAND,
        "text": text,
        "api_app_id": "A0APPROVALS",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.12345.{user_id.lower()}cmd",
    }
    return urlencode(fields)


def app_home_opened(*, user_id: str, tab: str = "home") -> str:
    """The Events API envelope for a user opening the app's Home (or Messages) tab."""
    now = int(time.time())
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0APPROVALS",
            "event": {
                "type": "app_home_opened",
                "user": user_id,
                "channel": "D0APPHOME",
                "tab": tab,
                "event_ts": f"{now}.000100",
            },
            "type": "event_callback",
            "event_id": f"Ev0HOME{user_id}{now}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": "U0APPBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
    )


def home_click(*, user_id: str, action_id: str, button: str = APPROVE_ACTION_ID) -> dict[str, Any]:
    """A button in the Home tab: the container is the view, there is no channel or message."""
    return {
        "type": "block_actions",
        "user": slack_user(user_id),
        "api_app_id": "A0APPROVALS",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": "V0HOMETAB"},
        "trigger_id": f"{int(time.time())}.12345.{user_id.lower()}home",
        "team": {"id": TEAM_ID, "domain": "approvals-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {
            "id": "V0HOMETAB",
            "team_id": TEAM_ID,
            "type": "home",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": "1700000000.home",
            "app_id": "A0APPROVALS",
            "bot_id": "B0APPBOT",
        },
        "actions": [
            {
                "action_id": button,
                "block_id": f"approvals.decision.{action_id}",
                "text": {"type": "plain_text", "text": "Approve", "emoji": True},
                "value": action_id,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
