"""What the SDK returns: a lenient view of the API's JSON (new fields never break old SDKs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

DECIDED_OK = frozenset({"approved", "auto_approved"})
DECIDED_NO = frozenset({"denied", "blocked"})
ENDED = frozenset({"expired", "cancelled"})
AWAITED = frozenset({"pending", "approved", "auto_approved"})  # what /wait holds on


class Vote(BaseModel):
    model_config = ConfigDict(extra="ignore")

    approver: str
    verdict: str
    reason: str | None = None
    platform: str
    at: datetime


class Action(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    status: str
    action: str
    resource: str
    requester: str
    environment: str
    risk: str
    required_approvals: int
    approvals: int = 0
    votes: list[Vote] = []
    expires_at: datetime
    verdict: str | None = None
    execution: str | None = None  # succeeded | failed, as reported once executed
    decided_by: str | None = None
    release_token: str | None = None
    release_expires_at: datetime | None = None
    decision_reason: str | None = None
    payload_digest: str | None = None

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    @property
    def settled(self) -> bool:
        """Nothing left to wait for: a release token is here (released, or auto-approved: the
        submit's answer carries it), or decided against, expired or cancelled. `approved`
        without a token yet is not settled: the worker is minting it."""
        return self.release_token is not None or self.status not in AWAITED

    @property
    def granted(self) -> bool:
        """Approved by people or by policy (whether or not the release has happened yet)."""
        return self.verdict in DECIDED_OK


class ApprovalsAPIError(Exception):
    """An error answer from the service: `status`, stable `code`, human `detail`."""

    def __init__(self, status: int, code: str, detail: Any) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail = status, code, detail


class ApprovalError(Exception):
    """Base of the SDK's answers that mean "do not run the action"."""


class ReleaseNotVerified(ApprovalError):
    """The release token does not release this exact call; nothing may run.

    `reason` is a stable word: `no_token`, `unknown_key`, `bad_signature`, `wrong_issuer`,
    `wrong_audience`, `expired`, `digest_mismatch`, `wrong_action`, ... Messages never echo
    the token.
    """

    def __init__(self, reason: str, detail: str, action_id: str | None = None) -> None:
        super().__init__(f"release not verified ({reason}): {detail}")
        self.reason, self.detail, self.action_id = reason, detail, action_id


class ApprovalDenied(ApprovalError):
    """A reviewer denied the request, or policy blocked it (`approver` is then `policy:<rule>`)."""

    def __init__(self, action: Action) -> None:
        self.action = action
        self.approver = action.decided_by
        self.reason = action.decision_reason
        what = "blocked by policy" if action.verdict == "blocked" else "denied"
        who = f" by {self.approver}" if self.approver else ""
        why = f": {self.reason}" if self.reason else ""
        super().__init__(f"request {action.id} was {what}{who}{why}")


class ApprovalExpired(ApprovalError):
    """Nobody approved in time (expired) or the request was withdrawn (cancelled)."""

    def __init__(self, action: Action, message: str | None = None) -> None:
        self.action = action
        super().__init__(message or f"request {action.id} ended {action.verdict or action.status}")


class ApprovalTimedOut(ApprovalExpired):
    """The caller's own timeout passed while the request was pending; it was cancelled."""


def parse(response: httpx.Response) -> Action:
    return Action.model_validate(_body(response))


def parse_page(response: httpx.Response) -> list[Action]:
    return [Action.model_validate(item) for item in _body(response)["items"]]


def parse_body(response: httpx.Response) -> Any:
    return _body(response)


def _body(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            body = response.json()
            code, detail = str(body.get("error", "error")), body.get("detail", response.text)
        except ValueError:
            code, detail = "error", response.text[:500]
        raise ApprovalsAPIError(response.status_code, code, detail)
    return response.json()


def submission(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
