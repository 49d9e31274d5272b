"""Asyncio client (agents, async services): the same calls as ApprovalsClient."""

from __future__ import annotations

import time
from typing import Any

import httpx

from approvals.client._models import Action, parse, parse_page, submission


class AsyncApprovalsClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"},
            transport=transport,
        )

    async def __aenter__(self) -> AsyncApprovalsClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def submit(
        self, *, action: str, resource: str, idempotency_key: str | None = None, **fields: Any
    ) -> Action:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = submission(action=action, resource=resource, **fields)
        return parse(await self._http.post("/v1/actions", json=body, headers=headers))

    async def pending(self, limit: int = 100) -> list[Action]:
        response = await self._http.get("/v1/actions", params={"status": "pending", "limit": limit})
        return parse_page(response)

    async def get(self, action_id: str) -> Action:
        return parse(await self._http.get(f"/v1/actions/{action_id}"))

    async def wait(self, action_id: str, timeout: float = 600.0) -> Action:
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            step = min(left, 55.0)
            action = parse(
                await self._http.get(
                    f"/v1/actions/{action_id}/wait", params={"timeout": step}, timeout=step + 15
                )
            )
            if not action.pending or left <= step:
                return action

    async def decide(self, action_id: str, verdict: str, reason: str | None = None) -> Action:
        body = submission(verdict=verdict, reason=reason)
        return parse(await self._http.post(f"/v1/actions/{action_id}/decisions", json=body))

    async def cancel(self, action_id: str) -> Action:
        return parse(await self._http.post(f"/v1/actions/{action_id}/cancel"))
