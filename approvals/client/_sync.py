"""Blocking client (scripts, CI steps)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from approvals.client._models import Action, parse, parse_page, submission


class ApprovalsClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"},
            transport=transport,
        )

    def __enter__(self) -> ApprovalsClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def submit(
        self, *, action: str, resource: str, idempotency_key: str | None = None, **fields: Any
    ) -> Action:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = submission(action=action, resource=resource, **fields)
        return parse(self._http.post("/v1/actions", json=body, headers=headers))

    def pending(self, limit: int = 100) -> list[Action]:
        """Requests waiting for a decision, newest first (reviewers see all, submitters theirs)."""
        response = self._http.get("/v1/actions", params={"status": "pending", "limit": limit})
        return parse_page(response)

    def get(self, action_id: str) -> Action:
        return parse(self._http.get(f"/v1/actions/{action_id}"))

    def wait(self, action_id: str, timeout: float = 600.0) -> Action:
        """Long-poll until the request leaves `pending` or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            step = min(left, 55.0)
            action = parse(
                self._http.get(
                    f"/v1/actions/{action_id}/wait", params={"timeout": step}, timeout=step + 15
                )
            )
            if not action.pending or left <= step:
                return action

    def decide(self, action_id: str, verdict: str, reason: str | None = None) -> Action:
        body = submission(verdict=verdict, reason=reason)
        return parse(self._http.post(f"/v1/actions/{action_id}/decisions", json=body))

    def cancel(self, action_id: str) -> Action:
        return parse(self._http.post(f"/v1/actions/{action_id}/cancel"))
