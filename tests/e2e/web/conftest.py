"""A real server and a real browser: uvicorn on a free loopback port (SQLite, embedded mode)
in a background thread, driven by Debian's headless Chromium through Selenium.

System packages (installed by CI, never downloaded here): apt-get install -y chromium
chromium-driver. Missing them skips these tests locally and fails them under CI=1.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from approvals import migrate
from approvals.app import create_app
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.runtime import Runtime
from tests.conftest import make_settings

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PEOPLE = [
    ("etl", [Scope.SUBMIT], "svc:etl@example.org"),
    ("bob", [Scope.REVIEW], "bob@example.org"),
    ("carol", [Scope.REVIEW], "carol@example.org"),
    ("auditor", [Scope.AUDIT], "audit@example.org"),
]


def _require(path: str, apt: str) -> None:
    if not Path(path).exists() and shutil.which(Path(path).name) is None:
        message = f"{path} is missing: apt-get install -y {apt}"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'approvals.db'}"
    migrate.upgrade(url)
    settings = make_settings(url, folder)

    async def seed() -> dict[str, str]:
        runtime = Runtime(settings)
        try:
            return {
                name: (
                    await clients_service.create(
                        runtime.db, name=name, scopes=scopes, identity=identity
                    )
                ).api_key
                for name, scopes, identity in PEOPLE
            }
        finally:
            await runtime.close()

    keys = asyncio.run(seed())
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", keys)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require(CHROMIUM, "chromium")
    _require(CHROMEDRIVER, "chromium-driver")
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
