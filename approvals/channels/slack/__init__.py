"""Slack adapter: Block Kit cards out (`SlackChannel`), signed interactions in (bolt `AsyncApp`).

Imports no other platform adapter; talks to the core only through `channels.base`.
"""

from approvals.channels.slack.app import build_slack_app, build_web_client
from approvals.channels.slack.outbound import SlackChannel
from approvals.channels.slack.routes import slack_router

__all__ = ["SlackChannel", "build_slack_app", "build_web_client", "slack_router"]
