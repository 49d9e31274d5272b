"""A live service for the SDK's release, decorator and MCP tests: uvicorn on a free loopback
port in a thread, embedded mode (SQLite, jobs in-process, no Redis), demo policy."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI

from approvals import migrate
from approvals.app import create_app
from approvals.client import Action, ApprovalsClient
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.runtime import Runtime
from tests.conftest import make_settings

PEOPLE = [
    ("agent", Scope.SUBMIT, "svc:agent@example.org"),
    ("bob", Scope.REVIEW, "bob@example.org"),
    ("auditor", Scope.AUDIT, "audit@example.org"),
]


@dataclass
class Live:
    url: str
    keys: dict[str, str]
    client_ids: dict[str, str]
    app: FastAPI

    def agent(self, **options: object) -> ApprovalsClient:
        return ApprovalsClient(
            self.url, self.keys["agent"], client_id=self.client_ids["agent"], **options
        )  # type: ignore[arg-type]

    def read(self, action_id: str) -> Action:
        with ApprovalsClient(self.url, self.keys["auditor"]) as auditor:
            return auditor.get(action_id)

    def status(self, action_id: str) -> str:
        return self.read(action_id).status

    def decide_when_pending(
        self, verdict: str, reason: str | None = None, *, action: str | None = None
    ) -> threading.Thread:
        """Bob decides the first pending request (of `action`) once it shows up."""

        def run() -> None:
            with ApprovalsClient(self.url, self.keys["bob"]) as bob:
                for _ in range(200):
                    waiting = [a for a in bob.pending() if action in (None, a.action)]
                    if waiting:
                        bob.decide(waiting[0].id, verdict, reason)
                        return
                    time.sleep(0.05)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("agents")
    database = f"sqlite:///{folder / 'approvals.db'}"
    migrate.upgrade(database)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(database, folder, public_url=base)

    async def seed() -> dict[str, tuple[str, str]]:
        runtime = Runtime(settings)
        try:
            made = {}
            for name, scope, identity in PEOPLE:
                created = await clients_service.create(
                    runtime.db, name=name, scopes=[scope], identity=identity
                )
                made[name] = (created.api_key, created.client_id)
            return made
        finally:
            await runtime.close()

    made = asyncio.run(seed())
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield Live(
            base,
            {name: key for name, (key, _) in made.items()},
            {name: cid for name, (_, cid) in made.items()},
            app,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
