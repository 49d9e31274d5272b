"""A live service for the SDK's release, decorator and MCP tests: uvicorn on a free loopback
port in a thread, embedded mode (SQLite, jobs in-process, no Redis), demo policy."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from approvals.client import Action, ApprovalsClient
from approvals.clients.schemas import Scope
from tests.live_service import serving

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


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    people = [(name, [scope], identity) for name, scope, identity in PEOPLE]
    with serving(tmp_path_factory.mktemp("agents"), people) as running:
        yield Live(
            running.url,
            running.keys,
            {name: client.client_id for name, client in running.clients.items()},
            running.app,
        )
