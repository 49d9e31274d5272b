"""A process that stops cleanly finishes its background rounds instead of cancelling them:
the sequencer seals what was committed, the relay hands over what is waiting. Real
databases, real Redis."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from approvals.audit import service as audit_service
from approvals.config import Settings
from approvals.jobs.queue import RQQueue
from approvals.jobs.relay import Relay
from approvals.kit.loops import STOP_GRACE_SECONDS
from approvals.outbox.handover import Handover, Written
from approvals.runtime import Runtime
from tests.builders import ApiClient
from tests.conftest import make_settings
from tests.integration.jobs.worker_processes import private_redis


async def _pending(runtime: Runtime) -> audit_service.ChainStatus:
    async with runtime.db() as session:
        return await audit_service.verify(session)


class TestTheSequencerSealsBeforeItStops:
    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        # A round at start, then none for a minute: only the stop can seal what follows.
        return make_settings(database_url, tmp_path, audit_seal_interval_seconds=60)

    async def test_events_committed_before_the_stop_are_sealed_by_it(
        self, api: ApiClient, runtime: Runtime
    ) -> None:
        await api.create()
        runtime.start_background()
        deadline = time.monotonic() + 10
        while (await _pending(runtime)).pending_events:  # the first round sealed them
            assert time.monotonic() < deadline, "the first round never sealed"
            await asyncio.sleep(0.02)
        later = await api.create()
        assert (await _pending(runtime)).pending_events >= 2  # submitted, policy_evaluated

        started = time.monotonic()
        await runtime.close()
        assert time.monotonic() - started < STOP_GRACE_SECONDS  # woken, not timed out

        status = await _pending(runtime)
        assert status.intact and status.pending_events == 0, status
        async with runtime.db() as session:
            events = await audit_service.events_for(session, later["id"])
        assert events and all(event.seq is not None and event.hash for event in events)


async def test_the_relay_hands_over_what_was_committed_before_the_stop() -> None:
    with private_redis() as url:
        queue = RQQueue(url)
        handover = Handover(lease_seconds=60)
        relay = Relay(handover, queue)
        relay.start()
        handover.add([Written(id="row-1", kind="cards.post")])
        relay.kick()
        await relay.stop()  # before the relay's loop had a turn
        cards = Queue("cards", connection=Redis.from_url(url), serializer=JSONSerializer)
        assert cards.job_ids == ["outbox-row-1-0"]
        assert not relay.running
        await queue.close()
