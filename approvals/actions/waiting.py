"""Wake /wait long-polls when a request changes, without a thread or a connection per waiter.

In-process events serve the embedded default; the Runtime bridges a cross-process
transport (Redis pub/sub) into `publish` when one is configured.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class Notifier:
    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    @contextmanager
    def subscribe(self, action_id: str) -> Iterator[asyncio.Event]:
        """Subscribe before reading the state, so a change in between is not missed."""
        event = asyncio.Event()
        self._waiters[action_id].add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(action_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[action_id]

    def publish(self, action_id: str) -> None:
        for event in self._waiters.get(action_id, ()):
            event.set()

    @property
    def waiting(self) -> int:
        return sum(len(events) for events in self._waiters.values())
