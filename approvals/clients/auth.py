"""Bearer-key authentication and scope checks for routes.

401: no key, or an unknown, revoked or expired key. 403: a valid key without the needed scope.
An `admin` key holds every scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from approvals.api.deps import get_runtime
from approvals.clients import service as clients_service
from approvals.clients.models import Client
from approvals.clients.schemas import Scope
from approvals.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An API key from `approvals clients create`.")


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_client(request: Request, credentials: Credentials) -> Client:
    """The key's client. Reads the Runtime from the app itself rather than through another
    dependency: each level of dependencies FastAPI solves costs every request."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "send `Authorization: Bearer <api key>`; create a key with "
            "`approvals clients create NAME --scopes submit`"
        )
    runtime = await get_runtime(request)
    client = await clients_service.authenticate(
        runtime.db, credentials.credentials, cache_seconds=runtime.settings.key_cache_seconds
    )
    if client is None:
        raise Unauthorized("the API key is unknown, revoked or expired")
    await clients_service.touch(runtime.db, client)
    request.state.client_id = client.id  # for the access log line (an id, never the key)
    return client


def has_scope(client: Client, scope: Scope) -> bool:
    return scope.value in client.scopes or Scope.ADMIN.value in client.scopes


def require(scope: Scope) -> Callable[..., Awaitable[Client]]:
    async def dependency(request: Request, credentials: Credentials) -> Client:
        client = await current_client(request, credentials)  # a call, not one more level
        if not has_scope(client, scope):
            raise Forbidden(f"this key lacks the {scope.value!r} scope")
        return client

    return dependency


CurrentClient = Annotated[Client, Depends(current_client)]
Submitter = Annotated[Client, Depends(require(Scope.SUBMIT))]
Reviewer = Annotated[Client, Depends(require(Scope.REVIEW))]
Auditor = Annotated[Client, Depends(require(Scope.AUDIT))]
Admin = Annotated[Client, Depends(require(Scope.ADMIN))]
