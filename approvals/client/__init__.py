"""The Python SDK: submit, wait, verify the release token offline, report the outcome.

from approvals.client import ApprovalsClient
with ApprovalsClient("http://127.0.0.1:8000", api_key) as client:
    action = client.submit(action="sql.execute", resource="db.prod.encounters",
                           params={"sql": "DELETE FROM encounters WHERE id = 7"})
    action = client.wait(action.id, timeout=600)
    client.verify_release(action, action_name="sql.execute", resource="db.prod.encounters",
                          params={"sql": "DELETE FROM encounters WHERE id = 7"})
    ...  # run it, then report the outcome with the token (it works once)
    client.executed(action.id, action.release_token, "succeeded")

Release tokens are verified offline with the service's own pure token code
(`approvals.release.tokens`, `approvals.kit.canonical`), never with a framework.
"""

from approvals.client._async import AsyncApprovalsClient
from approvals.client._models import (
    Action,
    ApprovalDenied,
    ApprovalError,
    ApprovalExpired,
    ApprovalsAPIError,
    ApprovalTimedOut,
    ReleaseNotVerified,
    Vote,
)
from approvals.client._sync import ApprovalsClient
from approvals.client.decorator import require_approval
from approvals.release.tokens import ReleaseClaims

__all__ = [
    "Action",
    "ApprovalDenied",
    "ApprovalError",
    "ApprovalExpired",
    "ApprovalTimedOut",
    "ApprovalsAPIError",
    "ApprovalsClient",
    "AsyncApprovalsClient",
    "ReleaseClaims",
    "ReleaseNotVerified",
    "Vote",
    "require_approval",
]
