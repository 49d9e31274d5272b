"""The Python SDK: submit actions, wait for the verdict, decide. Imports httpx and pydantic only.

from approvals.client import ApprovalsClient
with ApprovalsClient("http://127.0.0.1:8000", api_key) as client:
    action = client.submit(action="sql.execute", resource="db.prod.encounters",
                           params={"sql": "DELETE FROM encounters WHERE id = 7"})
    action = client.wait(action.id, timeout=600)
"""

from approvals.client._async import AsyncApprovalsClient
from approvals.client._models import Action, ApprovalsAPIError, Vote
from approvals.client._sync import ApprovalsClient

__all__ = ["Action", "ApprovalsAPIError", "ApprovalsClient", "AsyncApprovalsClient", "Vote"]
