"""The submit budget with Redis: one bucket per key across replicas, local while Redis is away."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from approvals.app import create_app
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.runtime import Runtime
from tests.builders import ApiClient
from tests.conftest import _empty, make_settings
from tests.integration.jobs.worker_processes import free_port, private_redis


async def _replicas(
    stack: AsyncExitStack, database_url: str, tmp_path: Path, redis_url: str, count: int
) -> list[ApiClient]:
    """`count` API processes' worth of apps, each with its own Runtime, on one database."""
    apis = []
    for n in range(count):
        settings = make_settings(
            database_url,
            tmp_path,
            redis_url=redis_url,
            submit_rate_per_minute=60,
            submit_burst=2,
        )
        runtime = Runtime(settings)
        stack.push_async_callback(runtime.close)
        if n == 0:
            await _empty(runtime)
            keys = {
                "etl": (
                    await clients_service.create(runtime.db, name="etl", scopes=[Scope.SUBMIT])
                ).api_key
            }
        app = create_app(settings, runtime=runtime)
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        )
        apis.append(ApiClient(http, keys))
    return apis


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_replicas_share_one_budget_per_key(database_url: str, tmp_path: Path) -> None:
    with private_redis() as redis_url:
        async with AsyncExitStack() as stack:
            first, second = await _replicas(stack, database_url, tmp_path, redis_url, 2)
            codes = [(await api.submit()).status_code for api in (first, second, first, second)]
    # Each process alone would have let 2 through (4 in all): the shared bucket lets 2.
    assert codes == [201, 201, 429, 429]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_with_redis_away_each_replica_keeps_its_own_budget(
    database_url: str, tmp_path: Path
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    async with AsyncExitStack() as stack:
        (api,) = await _replicas(stack, database_url, tmp_path, closed, 1)
        codes = [(await api.submit()).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
