"""Per-key request budgets (token buckets) so one runaway pipeline cannot flood reviewers.

In-process: with N API replicas a key gets up to N times the budget. That bounds the damage
a loop can do, which is the point; it is not a billing meter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, per_minute // 6))
        self._buckets: dict[str, _Bucket] = {}

    def retry_after(self, key: str) -> float:
        """0 if a request may pass now (and spends a token), else seconds until one may."""
        now = time.monotonic()
        bucket = self._buckets.setdefault(key, _Bucket(self.capacity, now))
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate
