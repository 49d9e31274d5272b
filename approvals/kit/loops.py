"""Background loops stop between rounds, never inside one.

Cancelling a task inside a database call leaves its connection in an unknown state:
SQLAlchemy invalidates it, and on SQLite the abandoned connection can keep the write lock
until it is garbage-collected. So each loop sleeps on a stop signal, finishes the round it is
in when the signal comes, and is cancelled only when that round outlasts a grace period (a
network call that hangs).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

# Longer than a healthy round (a sealing batch, a reconciler tick, a checkpoint upload), short
# enough for an orchestrator's default termination grace (30 s on Kubernetes).
STOP_GRACE_SECONDS = 10.0


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less when `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def finish(tasks: Iterable[asyncio.Task[Any]], grace: float = STOP_GRACE_SECONDS) -> None:
    """Wait up to `grace` seconds for loops already told to stop; cancel the ones still in a
    round then. Never raises: the loops log their own failures."""
    tasks = list(tasks)
    running = [task for task in tasks if not task.done()]
    if running:
        _, late = await asyncio.wait(running, timeout=grace)
        for task in late:
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)  # each outcome read, none logged
