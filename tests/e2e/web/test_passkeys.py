"""Passkeys in a real browser: Chromium's virtual authenticator (CTAP2, internal, resident key,
user verified) through Selenium. A reviewer registers a passkey, confirms a step-up approval
with it, removes it; an admin lists and revokes passkeys from the command line.

WebAuthn needs a secure context: `http://localhost:PORT` is one, 127.0.0.1 is not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.web.conftest import PEOPLE, LiveServer
from tests.e2e.web.test_browser_review import _go
from tests.integration.jobs.worker_processes import approvals_env
from tests.live_service import serving
from tests.policies import dba_oncall_policy

pytestmark = pytest.mark.timeout(120)
POLICY = dba_oncall_policy("web", rules=[("exports-passkey", "*.export", "passkey")])


@pytest.fixture(scope="module")
def passkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    folder = tmp_path_factory.mktemp("passkeys")
    (folder / "policy.yaml").write_text(POLICY)
    with serving(
        folder, PEOPLE, host_name="localhost", policy_file=folder / "policy.yaml"
    ) as running:
        yield LiveServer(running.url, running.keys), folder


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("APPROVALS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(browser: WebDriver, server: LiveServer, who: str) -> None:
    browser.get(f"{server.url}/ui/static/app.css")
    browser.delete_all_cookies()
    browser.get(f"{server.url}/ui")
    browser.find_element(By.NAME, "api_key").send_keys(server.keys[who])
    _go(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/ui/login'] button"))


def _status_text(browser: WebDriver, contains: str) -> str:
    WebDriverWait(browser, 10).until(
        lambda d: contains in d.find_element(By.ID, "passkey-status").text
    )
    return str(browser.find_element(By.ID, "passkey-status").text)


def _wait_for_notice(browser: WebDriver, text: str) -> None:
    WebDriverWait(browser, 10).until(
        lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, ".notice"))
    )


def _admin(folder: Path, *args: str) -> Any:
    """`approvals reviewers passkeys … --json` as an administrator runs it: its own process.
    In this one, the live server's log lines (its thread logs to stdout) could land in the
    command's captured output."""
    env = approvals_env(
        {
            "APPROVALS_DATABASE_URL": f"sqlite:///{folder / 'approvals.db'}",
            "APPROVALS_DATA_DIR": str(folder),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "approvals", "reviewers", "passkeys", *args, "--json"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr or result.stdout
    return json.loads(result.stdout)


class TestPasskeyStepUp:
    def test_register_then_approve_with_the_passkey(
        self,
        browser: WebDriver,
        passkey_server: tuple[LiveServer, Path],
        authenticator: None,
        shots: Path,
    ) -> None:
        server, folder = passkey_server
        created = server.submit(action="s3.export", resource="s3://exports/2026-12")
        _sign_in(browser, server, "bob")
        browser.get(f"{server.url}/ui/actions/{created['id']}")
        assert "Approving needs step-up: a passkey" in browser.page_source
        assert not browser.find_elements(By.CSS_SELECTOR, "button[value='approve']")
        browser.find_element(By.ID, "approve-passkey").click()
        said = _status_text(browser, "Not recorded")
        assert "you have no passkey yet: register one under Passkeys" in said
        browser.save_screenshot(str(shots / "passkey-1-none-yet.png"))

        browser.get(f"{server.url}/ui/passkeys")
        assert browser.find_elements(By.ID, "no-passkeys")
        browser.find_element(By.ID, "passkey-name").clear()
        browser.find_element(By.ID, "passkey-name").send_keys("laptop")
        browser.find_element(By.ID, "register-passkey").click()
        _wait_for_notice(browser, "Passkey registered.")
        assert "laptop" in browser.find_element(By.ID, "passkeys").text
        browser.save_screenshot(str(shots / "passkey-2-registered.png"))
        (listed,) = _admin(folder, "list")
        assert (listed["identity"], listed["name"]) == ("bob@example.org", "laptop")

        browser.get(f"{server.url}/ui/actions/{created['id']}")
        browser.execute_script("document.getElementById('decide').scrollIntoView()")
        browser.save_screenshot(str(shots / "passkey-3-request.png"))
        browser.find_element(By.ID, "approve-passkey").click()
        _wait_for_notice(browser, "Recorded with your passkey. The request is now approved.")
        browser.save_screenshot(str(shots / "passkey-4-approved.png"))
        assert server.status(created["id"]) == "approved"
        auditor = {"Authorization": f"Bearer {server.keys['auditor']}"}
        state = httpx.get(f"{server.url}/v1/actions/{created['id']}", headers=auditor).json()
        [vote] = state["votes"]
        assert vote["step_up"] == f"passkey:{listed['credential_id']}"
        assert vote["auth"] == "api_key"  # a development sign-in, stepped up by the passkey

    def test_a_vote_without_a_valid_assertion_does_not_count(
        self,
        browser: WebDriver,
        passkey_server: tuple[LiveServer, Path],
        authenticator: None,
    ) -> None:
        server, _ = passkey_server
        created = server.submit(action="s3.export", resource="s3://exports/2026-10")
        _sign_in(browser, server, "carol")
        browser.get(f"{server.url}/ui/actions/{created['id']}")
        forged = {
            "id": "AAAA",
            "rawId": "AAAA",
            "type": "public-key",
            "response": {
                "clientDataJSON": "eyJjaGFsbGVuZ2UiOiJBQUFBIn0",
                "authenticatorData": "AAAA",
                "signature": "AAAA",
            },
        }
        status = browser.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            fetch(arguments[0], {method: "POST", credentials: "same-origin",
              headers: {"Content-Type": "application/json",
                        "X-CSRF-Token": document.querySelector('meta[name=csrf]').content},
              body: JSON.stringify({credential: arguments[1]})})
              .then(r => r.json().then(b => done([r.status, b.detail])));
            """,
            f"/ui/actions/{created['id']}/passkey",
            forged,
        )
        assert status[0] == 403
        assert "expired or was already used" in status[1]
        assert server.status(created["id"]) == "pending"

    def test_admin_revokes_a_passkey_and_it_confirms_nothing_more(
        self,
        browser: WebDriver,
        passkey_server: tuple[LiveServer, Path],
        authenticator: None,
    ) -> None:
        server, folder = passkey_server
        before = {row["id"] for row in _admin(folder, "list", "--identity", "bob@example.org")}
        for key_id in before:
            _admin(folder, "revoke", key_id, "--operator", "security@example.org")
        assert _admin(folder, "list", "--identity", "bob@example.org") == []
        created = server.submit(action="s3.export", resource="s3://exports/2026-09")
        _sign_in(browser, server, "bob")
        browser.get(f"{server.url}/ui/actions/{created['id']}")
        browser.find_element(By.ID, "approve-passkey").click()
        assert "you have no passkey yet" in _status_text(browser, "Not recorded")
        assert server.status(created["id"]) == "pending"
