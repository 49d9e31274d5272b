"""Builds one bolt `AsyncApp` (and its Web API client) per call: no globals, nothing at import.

Signature verification is bolt's own (v0 HMAC, 5-minute window); url_verification and
ssl_check are bolt's middleware. `AsyncApp` never calls `auth.test` at construction (the
sync `App`'s `token_verification_enabled` has no async twin): bolt's single-team
authorization calls it once, on the first signed request, and caches the answer in the app.
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from approvals.channels.base import ReviewPort
from approvals.channels.slack.commands import SlackQueue
from approvals.channels.slack.identity import SlackDirectory
from approvals.channels.slack.inbound import SlackInbound

SLACK_API_URL = "https://slack.com/api/"
RATE_LIMIT_RETRIES = 2


def _quiet_logger(name: str) -> logging.Logger:
    """bolt logs a forged request's body at INFO and slack_sdk every request body at DEBUG;
    bodies carry card text, so these loggers never emit below WARNING."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)
    return logger


def build_web_client(*, bot_token: str, api_url: str | None) -> AsyncWebClient:
    """Web API client for `SLACK_API_URL` (GovSlack, a test double) that honours 429 Retry-After."""
    base_url = api_url or SLACK_API_URL
    if not base_url.endswith("/"):
        base_url += "/"  # slack_sdk joins the method name onto the base URL as-is
    client = AsyncWebClient(
        token=bot_token,
        base_url=base_url,
        logger=_quiet_logger("approvals.channels.slack.sdk"),
    )
    client.retry_handlers.append(
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)
    )
    return client


def build_slack_app(
    *,
    bot_token: str,
    signing_secret: str,
    api_url: str | None,
    review: ReviewPort,
    allowed_team_id: str | None,
    web_url: str,
) -> AsyncApp:
    """A new app with its own client, identity cache and listeners.

    `allowed_team_id`: the workspace whose members may decide; None means the bot token's own
    workspace (from `auth.test`). Clickers from any other team (Slack Connect) are refused.
    """
    if not signing_secret:
        raise ValueError("SLACK_SIGNING_SECRET is required: unsigned requests would be accepted")
    app = AsyncApp(
        client=build_web_client(bot_token=bot_token, api_url=api_url),
        signing_secret=signing_secret,
        logger=_quiet_logger("approvals.channels.slack.bolt"),
        # Ack-then-work: bolt answers Slack at ack() and finishes the listener afterwards.
        process_before_response=False,
        request_verification_enabled=True,
        url_verification_enabled=True,
    )
    directory = SlackDirectory()
    queue = SlackQueue(
        review=review, directory=directory, allowed_team_id=allowed_team_id, web_url=web_url
    )
    queue.register(app)
    inbound = SlackInbound(
        review=review,
        directory=directory,
        allowed_team_id=allowed_team_id,
        refresh_home=queue.refresh_home,
    )
    inbound.register(app)
    return app
