"""The submit budget with Redis: one bucket per key across replicas, local while Redis is away."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
import redis

from approvals.api.ratelimit import SharedRateLimiter
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


async def test_replicas_taking_a_few_tokens_per_trip_pass_the_budget_exactly() -> None:
    with private_redis() as redis_url:
        # A burst of 100 and almost no refill during the test: exactly 100 may pass.
        replicas = [SharedRateLimiter(redis_url, per_minute=1, burst=100) for _ in range(3)]
        try:
            assert replicas[0].tokens_per_trip == 5
            passed = 0
            for _ in range(60):  # 180 submits of one key, concurrently across the replicas
                waits = await asyncio.gather(*(r.retry_after("etl") for r in replicas))
                passed += sum(1 for wait in waits if wait == 0)
                refused = [wait for wait in waits if wait > 0]
                assert all(wait > 1 for wait in refused), "Retry-After: a token is a minute away"
            trips = redis.Redis.from_url(redis_url).info("commandstats")["cmdstat_evalsha"]
        finally:
            for replica in replicas:
                await replica.close()
    assert passed == 100
    # One trip per 5 tokens while they last, then one per refused submit.
    # (failed_calls: each replica's first try, before the script was loaded into Redis)
    assert trips["calls"] - trips["failed_calls"] == 100 / 5 + (180 - 100)
