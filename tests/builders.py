"""Typed helpers that build requests and call the API like a pipeline or reviewer would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


def action_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": "sql.execute",
        "resource": "db.prod.encounters",
        "requester": "svc:etl@example.org",
        "on_behalf_of": "alice@example.org",
        "environment": "staging",
        "justification": "fix duplicated encounter rows",
        "params": {"sql": "DELETE FROM encounters WHERE id = 7"},
        "context": {"rows": 1},
    }
    body.update(overrides)
    return body


@dataclass
class ApiClient:
    http: httpx.AsyncClient
    keys: dict[str, str]
    runtime: Any = None  # the server side, for tests that wait for its background jobs

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    async def submit(
        self, who: str = "etl", *, key: str | None = None, **overrides: Any
    ) -> httpx.Response:
        headers = self.auth(who)
        if key:
            headers["Idempotency-Key"] = key
        return await self.http.post("/v1/actions", json=action_body(**overrides), headers=headers)

    async def create(self, **overrides: Any) -> dict[str, Any]:
        response = await self.submit(**overrides)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def decide(
        self, who: str, action_id: str, verdict: str, reason: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"verdict": verdict}
        if reason is not None:
            body["reason"] = reason
        return await self.http.post(
            f"/v1/actions/{action_id}/decisions", json=body, headers=self.auth(who)
        )

    async def get(self, who: str, action_id: str) -> httpx.Response:
        return await self.http.get(f"/v1/actions/{action_id}", headers=self.auth(who))


async def settle(runtime: Any) -> None:
    """Let in-process jobs finish, including the follow-up work they commit in turn."""
    import asyncio

    from approvals.audit import sequencer
    from approvals.jobs.queue import InProcessQueue

    assert isinstance(runtime.queue, InProcessQueue)
    for _ in range(4):  # sleep(0), not a timed sleep: this must work under a frozen clock
        await runtime.queue.drain()
        await asyncio.sleep(0)
    # Then seal the audit events all that appended, as the serving process's sequencer would.
    await sequencer.seal_all(runtime.db)
