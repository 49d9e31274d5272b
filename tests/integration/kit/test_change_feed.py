"""A decision committed by one process wakes a /wait held by another (Redis or PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from approvals.app import create_app
from approvals.kit.changes import LocalFeed, PostgresFeed, RedisFeed
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle
from tests.conftest import make_settings

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("transport", ["redis", "postgres"])
async def test_wait_in_one_process_wakes_on_a_decision_in_another(
    transport: str, postgres_url: str, tmp_path: Path, api: ApiClient, runtime: Runtime
) -> None:
    del runtime  # the `api` fixture's runtime plays the deciding process
    extra = {"redis_url": REDIS_URL} if transport == "redis" else {}
    waiting = Runtime(make_settings(postgres_url, tmp_path, **extra))
    assert isinstance(waiting.changes, RedisFeed if transport == "redis" else PostgresFeed)
    deciding_feed = RedisFeed(REDIS_URL) if transport == "redis" else PostgresFeed(waiting.engine)
    await waiting.listen_for_changes()
    app = create_app(waiting.settings, runtime=waiting)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://other"
        ) as other:
            created = await api.create()
            await asyncio.sleep(0.3)  # the listener is subscribed
            waiter = asyncio.create_task(
                other.get(f"/v1/actions/{created['id']}/wait?timeout=20", headers=api.auth("etl"))
            )
            await asyncio.sleep(0.3)
            await api.decide("bob", created["id"], "approve")
            await settle(api.runtime)  # its release job commits too: /wait holds for the token
            await deciding_feed.publish(created["id"])  # what the deciding process's Runtime does
            loop = asyncio.get_running_loop()
            started = loop.time()
            response = await asyncio.wait_for(waiter, 10)
            assert (response.json()["verdict"], response.json()["status"]) == (
                "approved",
                "released",
            )
            assert loop.time() - started < 3
    finally:
        await deciding_feed.close()
        await waiting.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_embedded_default_uses_no_broker(runtime: Runtime) -> None:
    assert isinstance(runtime.changes, LocalFeed)
