"""Per-key request budgets (token buckets) so one runaway pipeline cannot flood reviewers.

With Redis configured the bucket lives there, so the budget holds across every API replica
(an atomic script, timed by Redis's own clock, that hands a replica a few tokens at a time).
Without Redis, or while Redis does not answer, each process keeps its own bucket: with N
replicas a key then gets up to N times the budget. That still bounds what a loop can do,
and intake never fails because the limiter's store is away.
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


# KEYS[1] bucket hash; ARGV rate per second, capacity, key TTL in seconds, tokens wanted.
# Returns how many tokens were granted (1 to the number wanted), or minus the wait in
# microseconds until one will be. Redis's clock, not the replicas'.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens, updated = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, updated = capacity, now end
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local result
if tokens >= 1 then
  result = math.min(tonumber(ARGV[4]), math.floor(tokens))
  tokens = tokens - result
else
  result = -math.max(1, math.floor((1 - tokens) / rate * 1000000))
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'updated', now)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return result
"""

# Tokens one trip to Redis takes for a key, at most: a 20th of the bucket, so at 600 submits a
# minute with a burst of 100 one trip in five, where every submit made one (a Redis round
# trip through the asyncio client cost about 4 % of a submit's CPU).
MOST_TAKEN_AT_ONCE = 16


class SharedRateLimiter:
    """One bucket per key in Redis for all replicas; this process's bucket while Redis is away.

    A trip to Redis takes a few tokens at once (`tokens_per_trip`) and this process spends
    them on the key's next submits. Taken tokens are spent, never lost or returned, so the
    replicas together never pass more than the budget; a replica holds back at most
    `tokens_per_trip - 1` of a key's burst until that key's next submit reaches it."""

    def __init__(self, redis_url: str, per_minute: int, burst: int | None = None) -> None:
        self._local = RateLimiter(per_minute, burst)
        self._redis = aioredis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._take = self._redis.register_script(_TAKE)
        # A bucket refills completely in capacity / rate seconds; keep it a little longer.
        self._ttl = int(self._local.capacity / self._local.rate) + 60
        self.tokens_per_trip = max(1, min(MOST_TAKEN_AT_ONCE, int(self._local.capacity // 20)))
        self._held: dict[str, int] = {}

    async def retry_after(self, key: str) -> float:
        held = self._held.get(key, 0)
        if held > 0:
            self._held[key] = held - 1
            return 0.0
        try:
            result = int(
                await self._take(
                    keys=[f"approvals:ratelimit:submit:{key}"],
                    args=[self._local.rate, self._local.capacity, self._ttl, self.tokens_per_trip],
                )
            )
        except (RedisError, OSError) as exc:
            log.warning("ratelimit.shared_unavailable", error=type(exc).__name__)
            return self._local.take(key)
        if result < 0:
            return -result / 1_000_000
        # Another submit of this key may have taken tokens while this one waited on Redis.
        self._held[key] = self._held.get(key, 0) + result - 1
        return 0.0

    async def close(self) -> None:
        await self._redis.aclose()


def submit_budget(redis_url: str | None, per_minute: int, burst: int | None) -> SubmitBudget:
    if redis_url:
        return SharedRateLimiter(redis_url, per_minute, burst)
    return RateLimiter(per_minute, burst)
