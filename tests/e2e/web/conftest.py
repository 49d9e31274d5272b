"""A real server and a real browser: uvicorn on a free loopback port (SQLite, embedded mode)
in a background thread, driven by Debian's headless Chromium through Selenium.

System packages (installed by CI, never downloaded here): apt-get install -y chromium
chromium-driver. Missing them skips these tests locally and fails them under CI=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from approvals.clients.schemas import Scope
from tests.live_service import serving
from tests.system_tools import require_tool

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PEOPLE = [
    ("etl", [Scope.SUBMIT], "svc:etl@example.org"),
    ("bob", [Scope.REVIEW], "bob@example.org"),
    ("carol", [Scope.REVIEW], "carol@example.org"),
    ("auditor", [Scope.AUDIT], "audit@example.org"),
]


@dataclass
class LiveServer:
    url: str
    keys: dict[str, str]

    def submit(self, **overrides: object) -> dict:
        body = {
            "action": "sql.execute",
            "resource": "db.staging.encounters",
            "requester": "svc:etl@example.org",
            "on_behalf_of": "alice@example.org",
            "environment": "staging",
            "justification": "fix duplicated encounter rows",
            "params": {"sql": "DELETE FROM encounters WHERE id = 7"},
            **overrides,
        }
        response = httpx.post(
            f"{self.url}/v1/actions",
            json=body,
            headers={"Authorization": f"Bearer {self.keys['etl']}"},
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def status(self, action_id: str) -> str:
        """The decision if there is one (it stays through release), else the status."""
        response = httpx.get(
            f"{self.url}/v1/actions/{action_id}",
            headers={"Authorization": f"Bearer {self.keys['auditor']}"},
        )
        body = response.json()
        return str(body["verdict"] or body["status"])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("live"), PEOPLE) as running:
        yield LiveServer(running.url, running.keys)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require_tool(CHROMIUM, "chromium")
    require_tool(CHROMEDRIVER, "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(3)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def authenticator(browser: Any) -> Iterator[None]:
    """A platform passkey authenticator in the browser: CTAP2, internal, user verified."""
    from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions

    options = VirtualAuthenticatorOptions()
    options.protocol = VirtualAuthenticatorOptions.Protocol.CTAP2
    options.transport = VirtualAuthenticatorOptions.Transport.INTERNAL
    options.has_resident_key = True
    options.has_user_verification = True
    options.is_user_verified = True
    browser.add_virtual_authenticator(options)
    try:
        yield
    finally:
        browser.remove_virtual_authenticator()
