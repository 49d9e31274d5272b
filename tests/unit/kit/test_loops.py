"""Background loops end between rounds: a round in progress finishes, a hung one is cancelled
after the grace period."""

from __future__ import annotations

import asyncio
import time

from approvals.kit.loops import finish, pause


async def test_a_round_in_progress_finishes_and_the_loop_ends_without_a_cancel() -> None:
    stop = asyncio.Event()
    seen: list[str] = []

    async def loop() -> None:
        while not stop.is_set():
            seen.append("round started")
            await asyncio.sleep(0.05)  # the round's own work, under way when the stop comes
            seen.append("round finished")
            await pause(stop, 3600)
        seen.append("ended")

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.01)
    stop.set()
    started = time.monotonic()
    await finish([task])
    assert seen == ["round started", "round finished", "ended"]
    assert not task.cancelled()
    assert time.monotonic() - started < 5  # the hour's pause was cut short


async def test_a_round_that_outlasts_the_grace_is_cancelled() -> None:
    hung = asyncio.create_task(asyncio.sleep(3600))  # a sink or queue that never answers
    started = time.monotonic()
    await finish((t for t in [hung]), grace=0.1)  # any iterable, read once
    assert hung.cancelled()  # and its cancellation has run when finish returns
    assert time.monotonic() - started < 5
