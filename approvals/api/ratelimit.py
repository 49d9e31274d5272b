"""Per-key request budgets (token buckets) so one runaway pipeline cannot flood reviewers.

With Redis configured the bucket lives there, so the budget holds across every API replica
(one atomic script per request, timed by Redis's own clock). Without Redis, or while Redis
does not answer, each process keeps its own bucket: with N replicas a key then gets up to N
times the budget. That still bounds what a loop can do, and intake never fails because the
limiter's store is away.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import structlog
from redis import asyncio as aioredis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)


class SubmitBudget(Protocol):
    async def retry_after(self, key: str) -> float:
        """0 if a request may pass now (and spends a token), else seconds until one may."""

    async def close(self) -> None: ...


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """This process's buckets."""

    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, per_minute // 6))
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        now = time.monotonic()
        bucket = self._buckets.setdefault(key, _Bucket(self.capacity, now))
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    async def retry_after(self, key: str) -> float:
        return self.take(key)

    async def close(self) -> None:
        return None


# KEYS[1] bucket hash; ARGV rate per second, capacity, key TTL in seconds.
# Returns the wait in microseconds (0: a token was spent). Redis's clock, not the replicas'.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens, updated = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, updated = capacity, now end
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'updated', now)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return math.floor(wait * 1000000)
"""


class SharedRateLimiter:
    """One bucket per key in Redis for all replicas; this process's bucket while Redis is away."""

    def __init__(self, redis_url: str, per_minute: int, burst: int | None = None) -> None:
        self._local = RateLimiter(per_minute, burst)
        self._redis = aioredis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._take = self._redis.register_script(_TAKE)
        # A bucket refills completely in capacity / rate seconds; keep it a little longer.
        self._ttl = int(self._local.capacity / self._local.rate) + 60

    async def retry_after(self, key: str) -> float:
        try:
            waited = await self._take(
                keys=[f"approvals:ratelimit:submit:{key}"],
                args=[self._local.rate, self._local.capacity, self._ttl],
            )
        except (RedisError, OSError) as exc:
            log.warning("ratelimit.shared_unavailable", error=type(exc).__name__)
            return self._local.take(key)
        return int(waited) / 1_000_000

    async def close(self) -> None:
        await self._redis.aclose()


def submit_budget(redis_url: str | None, per_minute: int, burst: int | None) -> SubmitBudget:
    if redis_url:
        return SharedRateLimiter(redis_url, per_minute, burst)
    return RateLimiter(per_minute, burst)
