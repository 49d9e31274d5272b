"""The whole high-risk journey: a Slack Approve click on a request that needs a passkey, the
link it answers with opened in a real browser, the passkey confirming, the Slack card updated.

The service runs for real (uvicorn on `localhost`, SQLite, in-process jobs); Slack's Web API is
the loopback double; the click is a signed interaction payload; Chromium carries a virtual
authenticator (CTAP2, internal, user verified).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.web.conftest import PEOPLE, LiveServer
from tests.e2e.web.test_passkeys import _sign_in, _wait_for_notice
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.slack.slack_harness import (
    BOT_TOKEN,
    CHANNEL_ID,
    SIGNING_SECRET,
    TEAM_ID,
    block_action,
    form,
    sign,
)
from tests.live_service import serving
from tests.policies import dba_oncall_policy

pytestmark = pytest.mark.timeout(120)
POLICY = dba_oncall_policy("slack, web", step_up="passkey")
BOB = ("U0BOB", "bob@example.org")
T = TypeVar("T")


def _eventually(find: Callable[[], T | None], what: str, timeout: float = 10) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = find()
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, FakeSlackApi]]:
    folder = tmp_path_factory.mktemp("slack-passkey")
    (folder / "policy.yaml").write_text(POLICY)
    with FakeSlackApi(team_id=TEAM_ID) as slack:
        slack.add_user(*BOB)
        with serving(
            folder,
            PEOPLE,
            host_name="localhost",
            policy_file=folder / "policy.yaml",
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.base_url,
            slack_channel=CHANNEL_ID,
        ) as running:
            yield LiveServer(running.url, running.keys), slack


def _posted_card(slack: FakeSlackApi, action_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for call in slack.calls("chat.postMessage"):
            if call.body.get("channel") == CHANNEL_ID and action_id in json.dumps(call.body):
                return call.body
        return None

    return _eventually(find, "card in Slack")


def test_slack_click_then_passkey_approves_and_updates_the_card(
    browser: WebDriver, world: tuple[LiveServer, FakeSlackApi], authenticator: None, tmp_path: Path
) -> None:
    server, slack = world
    shots = Path(os.environ.get("APPROVALS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    created = server.submit(action="s3.export", resource="s3://exports/2026-12")
    _posted_card(slack, created["id"])
    (post,) = [c for c in slack.calls("chat.postMessage") if c.body.get("channel") == CHANNEL_ID]
    ts = _eventually(
        lambda: next(iter(k[1] for k in slack.messages if k[0] == CHANNEL_ID), None), "message ts"
    )
    assert "Approving needs step-up (a passkey)" in json.dumps(post.body)

    # Bob presses Approve in Slack: the vote is refused, he gets his own link.
    signed = sign(form(block_action(user_id=BOB[0], action_id=created["id"], message_ts=ts)))
    assert (
        httpx.post(
            f"{server.url}/slack/events", content=signed.body, headers=signed.headers
        ).status_code
        == 200
    )
    ephemeral = _eventually(lambda: slack.calls("chat.postEphemeral"), "ephemeral answer")[0]
    link = re.search(r"(http://localhost:\d+/ui/step-up/[A-Za-z0-9_-]+)", ephemeral.body["text"])
    assert link, ephemeral.body["text"]
    assert server.status(created["id"]) == "pending"

    # In the browser: signed in, a passkey registered, the link opened, the passkey confirms.
    _sign_in(browser, server, "bob")
    browser.get(f"{server.url}/ui/passkeys")
    browser.find_element(By.ID, "register-passkey").click()
    _wait_for_notice(browser, "Passkey registered.")
    browser.get(link.group(1))
    assert browser.current_url == f"{server.url}/ui/actions/{created['id']}"
    browser.execute_script("document.getElementById('decide').scrollIntoView()")
    browser.save_screenshot(str(shots / "journey-1-from-slack.png"))
    browser.find_element(By.ID, "approve-passkey").click()
    _wait_for_notice(browser, "Recorded with your passkey. The request is now approved.")
    browser.save_screenshot(str(shots / "journey-2-approved.png"))

    # The Slack card follows: updated in place, buttons gone, bob's approval shown.
    update = _eventually(lambda: slack.calls("chat.update"), "card update")[-1]
    assert update.body["ts"] == ts
    final = slack.message(CHANNEL_ID, ts)
    assert final is not None
    assert not any(block["type"] == "actions" for block in final["blocks"])
    assert "bob@example.org" in json.dumps(final["blocks"])
    assert server.status(created["id"]) == "approved"
