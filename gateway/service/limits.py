"""Requests-per-minute and tokens-per-minute limits per gateway key.

Both backends use the same sliding-window counter: the count of the current
minute plus the previous minute's count weighted by how much of it still lies
inside the last 60 seconds.

* ``RedisLimiter`` keeps the counters in Redis and updates them atomically in one
  Lua script (the clock is Redis's own ``TIME``), so every gateway process sharing
  the Redis enforces one combined limit.
* ``LocalLimiter`` keeps them in this process: with several workers or replicas,
  each enforces the limit on its own.

A limiter that cannot reach Redis lets the request through (a limiter outage must
not take the gateway down) and logs it; ``/readyz`` reports it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.errors import RateLimitError

log = logging.getLogger("gateway.limits")

WINDOW = 60.0

_SCRIPT = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local window = math.floor(t / 60)
local weight = 1 - (t - window * 60) / 60
local current = KEYS[1] .. ':' .. window
local previous = KEYS[1] .. ':' .. (window - 1)
local used = tonumber(redis.call('GET', previous) or '0') * weight + tonumber(redis.call('GET', current) or '0')
local limit = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local over = false
if limit > 0 and cost == 0 then
  over = used >= limit
elseif limit > 0 and cost > 0 then
  over = used + cost > limit + 1e-9
end
if over then
  return {0, tostring((window + 1) * 60 - t)}
end
if cost ~= 0 then
  redis.call('INCRBY', current, math.abs(cost))
  redis.call('EXPIRE', current, 130)
end
return {1, '0'}
"""


class Limiter(Protocol):
    async def admit(self, name: str, limit: int, cost: int) -> float | None:
        """Count ``cost`` against ``name`` if that stays within ``limit`` per minute.

        ``cost=0`` only checks that the window is not already full. A negative
        cost adds ``-cost`` without checking (tokens used, counted afterwards).
        Returns ``None`` when admitted, else the seconds to wait.
        """
        ...

    async def healthy(self) -> bool: ...

    async def close(self) -> None: ...


def _over(used: float, limit: int, cost: int) -> bool:
    if cost < 0 or limit <= 0:
        return False
    if cost == 0:
        return used >= limit
    return used + cost > limit + 1e-9


@dataclass(slots=True)
class _Counter:
    window: int = 0
    current: int = 0
    previous: int = 0


class LocalLimiter:
    """In-process counters; one entry per limited key and metric."""

    def __init__(self) -> None:
        self._counters: dict[str, _Counter] = {}

    async def admit(self, name: str, limit: int, cost: int) -> float | None:
        now = time.time()
        window = int(now // WINDOW)
        counter = self._counters.setdefault(name, _Counter(window))
        if counter.window != window:
            counter.previous = counter.current if counter.window == window - 1 else 0
            counter.current, counter.window = 0, window
        weight = 1 - (now - window * WINDOW) / WINDOW
        used = counter.previous * weight + counter.current
        if _over(used, limit, cost):
            return (window + 1) * WINDOW - now
        counter.current += abs(cost)
        return None

    async def healthy(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class RedisLimiter:
    def __init__(self, url: str, prefix: str = "gateway:rl:") -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_SCRIPT)
        self._prefix = prefix
        self._warned = 0.0

    async def admit(self, name: str, limit: int, cost: int) -> float | None:
        try:
            allowed, wait = await self._script(keys=[self._prefix + name], args=[limit, cost])
        except Exception as exc:  # fail open: see the module docstring
            if time.monotonic() - self._warned > 30:
                self._warned = time.monotonic()
                log.warning("rate limiter cannot reach Redis (%s); limits are not enforced", type(exc).__name__)
            return None
        return None if int(allowed) == 1 else float(wait)

    async def healthy(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._redis.aclose()


async def enforce(limiter: Limiter, key_id: str, rpm: int | None, tpm: int | None) -> None:
    """Raise ``RateLimitError`` (with ``retry_after``) when the key is over either limit."""
    if tpm:
        wait = await limiter.admit(f"{key_id}:tpm", tpm, 0)
        if wait is not None:
            raise RateLimitError(f"Rate limit reached: {tpm} tokens per minute for this key.",
                                 code="tokens_per_minute_exceeded", retry_after=max(1.0, wait))
    if rpm:
        wait = await limiter.admit(f"{key_id}:rpm", rpm, 1)
        if wait is not None:
            raise RateLimitError(f"Rate limit reached: {rpm} requests per minute for this key.",
                                 code="requests_per_minute_exceeded", retry_after=max(1.0, wait))
