"""The real service for end-to-end tests: a migrated PostgreSQL database emptied of earlier
tests, a policy file, API keys for the people a test needs, and an HTTP client on the app.

Every platform test (Slack, Teams, requester DMs) starts from this and adds its own double.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from approvals.app import create_app
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.runtime import Runtime
from tests.builders import ApiClient
from tests.conftest import _empty, make_settings

Person = tuple[str, Sequence[Scope], str]  # key name, scopes, identity
SUBMITTER: Person = ("etl", [Scope.SUBMIT], "svc:etl@example.org")


@asynccontextmanager
async def running_service(
    postgres_url: str,
    tmp_path: Path,
    *,
    policy: str,
    people: Sequence[Person] = (SUBMITTER,),
    **settings: object,
) -> AsyncIterator[tuple[Runtime, ApiClient]]:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(policy)
    config = make_settings(postgres_url, tmp_path, policy_file=policy_file, **settings)
    runtime = Runtime(config)
    try:
        await _empty(runtime)
        keys = {}
        for name, scopes, identity in people:
            client = await clients_service.create(
                runtime.db, name=name, scopes=list(scopes), identity=identity
            )
            keys[name] = client.api_key
        transport = httpx.ASGITransport(app=create_app(config, runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://approvals.test") as http:
            yield runtime, ApiClient(http, keys, runtime)
    finally:
        await runtime.close()
