"""Blocking client (scripts, CI steps)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from approvals.client._models import (
    Action,
    ReleaseNotVerified,
    parse,
    parse_body,
    parse_page,
    submission,
)
from approvals.client._release import ReleaseVerifier
from approvals.release.tokens import ReleaseClaims


class ApprovalsClient(ReleaseVerifier):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        client_id: str | None = None,
        issuer: str | None = None,
    ) -> None:
        """`client_id` (from `approvals clients create --json`) pins the release tokens'
        audience; `issuer` is the service's APPROVALS_PUBLIC_URL when it differs from
        `base_url` (a proxy, an internal address)."""
        super().__init__(base_url, client_id, issuer)
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
        """Long-poll until the request is settled (released with its token, or decided
        against, expired, cancelled) or `timeout` seconds pass; the server holds an approved
        request until its token is minted."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            step = min(left, 55.0)
            action = parse(
                self._http.get(
                    f"/v1/actions/{action_id}/wait", params={"timeout": step}, timeout=step + 15
                )
            )
            if action.settled or left <= step:
                return action

    def decide(self, action_id: str, verdict: str, reason: str | None = None) -> Action:
        body = submission(verdict=verdict, reason=reason)
        return parse(self._http.post(f"/v1/actions/{action_id}/decisions", json=body))

    def cancel(self, action_id: str) -> Action:
        return parse(self._http.post(f"/v1/actions/{action_id}/cancel"))

    def keys(self, *, refresh: bool = False) -> dict[str, Any]:
        """The service's JWKS (GET /v1/keys), cached for this client until `refresh`."""
        if self._jwks is None or refresh:
            jwks = parse_body(self._http.get("/v1/keys"))
            if not isinstance(jwks, dict):
                raise ReleaseNotVerified("bad_jwks", "GET /v1/keys did not return a JWKS object")
            self._jwks = jwks
        return self._jwks

    def verify_release(
        self,
        action: Action,
        *,
        action_name: str,
        resource: str,
        params: Mapping[str, Any] | None = None,
    ) -> ReleaseClaims:
        """Check offline that `action.release_token` releases exactly what was submitted.

        Signature against the cached JWKS (refetched once when the token's key is unknown,
        so a key rotation is followed), type, issuer, audience, expiry, request id, and the
        payload digest recomputed from `action_name`, `resource` and `params` as you sent
        them. Raises ReleaseNotVerified on any mismatch.
        """
        fresh = self._jwks is None
        try:
            return self._verify(action, self.keys(), action_name, resource, params)
        except ReleaseNotVerified as exc:
            if exc.reason != "unknown_key" or fresh:
                raise
        return self._verify(action, self.keys(refresh=True), action_name, resource, params)

    def executed(
        self, action_id: str, token: str, outcome: str = "succeeded", detail: str | None = None
    ) -> Action:
        """Report what happened to a released action (`succeeded` or `failed`); once per token."""
        body = submission(token=token, outcome=outcome, detail=detail)
        return parse(self._http.post(f"/v1/actions/{action_id}/executed", json=body))
