"""Requests-per-minute and tokens-per-minute limits per gateway key.

Both backends use the same sliding-window counter: the count of the current
minute plus the previous minute's count weighted by how much of it still lies
inside the last 60 seconds.

A request is limited in two steps. ``admit_request`` runs on the headers alone,
before the body is read: it refuses a key whose token window is already full
(counting nothing) and counts one request against its RPM. ``reserve_tokens``
runs once the body is parsed: it counts the request's estimated tokens only if
they fit in what the window has left, in the same atomic step as the check, so
concurrent requests (in one process or in many sharing Redis) cannot all pass
on the same remainder. The record of the request then ``settle``s the
reservation to the tokens actually counted.

The bound: within a window, the reservations admitted add up to at most the
limit. A reservation larger than the whole limit is admitted only into an empty
window (it is checked as if it were exactly the limit), so a request bigger than
the limit is slow, not impossible. Settling can push the window past the limit
when a request used more than estimated; the excess delays the next requests.

* ``RedisLimiter`` keeps the counters in Redis and updates them atomically in Lua
  scripts (the clock is Redis's own ``TIME``), so every gateway process sharing
  the Redis enforces one combined limit.
* ``LocalLimiter`` keeps them in this process: with several workers or replicas,
  each enforces the limit on its own.

A refusal carries the seconds until the request would fit if nothing else came
(the weighted previous minute decays linearly, so this can reach into the next
minute). A limiter that cannot reach Redis lets the request through (a limiter
outage must not take the gateway down) and logs it; ``/readyz`` reports it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.errors import RateLimitError

log = logging.getLogger("gateway.limits")

WINDOW = 60.0

_WINDOW_LUA = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local window = math.floor(t / 60)
local fraction = (t - window * 60) / 60
"""

_RESERVE = _WINDOW_LUA + """
local current_key = KEYS[1] .. ':' .. window
local previous = tonumber(redis.call('GET', KEYS[1] .. ':' .. (window - 1)) or '0')
local current = tonumber(redis.call('GET', current_key) or '0')
local limit = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local budget = limit - math.min(math.max(cost, 1), limit)
if previous * (1 - fraction) + current <= budget + 1e-9 then
  if cost > 0 then
    redis.call('INCRBY', current_key, cost)
    redis.call('EXPIRE', current_key, 130)
  end
  return {1, tostring(window)}
end
local wait
if current <= budget then
  wait = (1 - (budget - current) / previous - fraction) * 60
else
  wait = (1 - fraction) * 60 + (1 - budget / current) * 60
end
return {0, tostring(wait)}
"""

_SETTLE = """
local delta = tonumber(ARGV[2])
if delta < 0 then
  local key = KEYS[1] .. ':' .. ARGV[1]
  local refund = math.min(-delta, tonumber(redis.call('GET', key) or '0'))
  if refund > 0 then
    redis.call('DECRBY', key, refund)
  end
  return 0
end
""" + _WINDOW_LUA + """
local current_key = KEYS[1] .. ':' .. window
redis.call('INCRBY', current_key, delta)
redis.call('EXPIRE', current_key, 130)
return 0
"""


@dataclass(frozen=True, slots=True)
class Grant:
    """``cost`` counted against ``name`` in the minute numbered ``window``; ``window`` is ``None``
    when nothing was counted (no cost, or the limiter's store was unreachable)."""

    name: str
    cost: int
    window: int | None


class Limiter(Protocol):
    async def reserve(self, name: str, limit: int, cost: int) -> Grant | float:
        """Count ``cost`` against ``name`` if it fits in what ``limit`` per minute leaves.

        A cost above ``limit`` is checked as ``limit`` (it fits only an empty window) and
        counted in full. ``cost=0`` counts nothing and checks that one more unit fits.
        Returns the ``Grant``, or the seconds until the cost would fit with no other traffic.
        """
        ...

    async def settle(self, grant: Grant, actual: int) -> None:
        """Replace the grant's cost with ``actual``: the difference is refunded from the grant's
        own minute (never below zero), or an excess is counted in the current minute."""
        ...

    async def healthy(self) -> bool: ...

    async def close(self) -> None: ...


def wait_until_fits(previous: float, current: float, fraction: float, limit: int, cost: int) -> float | None:
    """``None`` if ``cost`` fits now, else the seconds until it would with no new traffic.

    ``fraction`` is how far into the current minute it is; the previous minute's count is
    weighted by ``1 - fraction`` now and becomes the weighted one itself at the next minute."""
    budget = limit - min(max(cost, 1), limit)
    if previous * (1 - fraction) + current <= budget + 1e-9:
        return None
    if current <= budget:
        return (1 - (budget - current) / previous - fraction) * WINDOW
    return (1 - fraction) * WINDOW + (1 - budget / current) * WINDOW


@dataclass(slots=True)
class _Counter:
    window: int = 0
    current: int = 0
    previous: int = 0

    def roll(self, window: int) -> None:
        if self.window != window:
            self.previous = self.current if self.window == window - 1 else 0
            self.current, self.window = 0, window


class LocalLimiter:
    """In-process counters; one entry per limited key and metric. ``clock`` gives Unix seconds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._counters: dict[str, _Counter] = {}
        self._clock = clock

    def _now(self, name: str) -> tuple[_Counter, int, float]:
        now = self._clock()
        window = int(now // WINDOW)
        counter = self._counters.setdefault(name, _Counter(window))
        counter.roll(window)
        return counter, window, (now - window * WINDOW) / WINDOW

    async def reserve(self, name: str, limit: int, cost: int) -> Grant | float:
        if limit <= 0:
            return Grant(name, 0, None)
        counter, window, fraction = self._now(name)
        wait = wait_until_fits(counter.previous, counter.current, fraction, limit, cost)
        if wait is not None:
            return wait
        counter.current += cost
        return Grant(name, cost, window if cost > 0 else None)

    async def settle(self, grant: Grant, actual: int) -> None:
        if grant.window is None or actual == grant.cost:
            return
        counter, window, _ = self._now(grant.name)
        if actual > grant.cost:
            counter.current += actual - grant.cost
        elif grant.window == window:
            counter.current -= min(grant.cost - actual, counter.current)
        elif grant.window == window - 1:
            counter.previous -= min(grant.cost - actual, counter.previous)

    async def healthy(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class RedisLimiter:
    def __init__(self, url: str, prefix: str = "gateway:rl:") -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._reserve = self._redis.register_script(_RESERVE)
        self._settle = self._redis.register_script(_SETTLE)
        self._prefix = prefix
        self._warned = 0.0

    def _unreachable(self, exc: Exception) -> None:
        if time.monotonic() - self._warned > 30:
            self._warned = time.monotonic()
            log.warning("rate limiter cannot reach Redis (%s); limits are not enforced", type(exc).__name__)

    async def reserve(self, name: str, limit: int, cost: int) -> Grant | float:
        if limit <= 0:
            return Grant(name, 0, None)
        try:
            admitted, value = await self._reserve(keys=[self._prefix + name], args=[limit, cost])
        except Exception as exc:  # fail open: see the module docstring
            self._unreachable(exc)
            return Grant(name, cost, None)
        if int(admitted) != 1:
            return float(value)
        return Grant(name, cost, int(value) if cost > 0 else None)

    async def settle(self, grant: Grant, actual: int) -> None:
        if grant.window is None or actual == grant.cost:
            return
        try:
            await self._settle(keys=[self._prefix + grant.name], args=[grant.window, actual - grant.cost])
        except Exception as exc:  # fail open: see the module docstring
            self._unreachable(exc)

    async def healthy(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def _retry_after(wait: float) -> float:
    return float(max(1, math.ceil(wait)))


async def admit_request(limiter: Limiter, key_id: str, rpm: int | None, tpm: int | None) -> Grant | None:
    """Before the body is read: raise ``RateLimitError`` (with ``retry_after``) if the key's token
    window is already full or one more request does not fit its RPM; return the request's RPM
    grant (``None`` without an RPM limit). A token refusal counts nothing against RPM."""
    if tpm:
        wait = await limiter.reserve(f"{key_id}:tpm", tpm, 0)
        if not isinstance(wait, Grant):
            raise RateLimitError(f"Rate limit reached: {tpm} tokens per minute for this key.",
                                 code="tokens_per_minute_exceeded", retry_after=_retry_after(wait))
    if not rpm:
        return None
    grant = await limiter.reserve(f"{key_id}:rpm", rpm, 1)
    if not isinstance(grant, Grant):
        raise RateLimitError(f"Rate limit reached: {rpm} requests per minute for this key.",
                             code="requests_per_minute_exceeded", retry_after=_retry_after(grant))
    return grant


async def reserve_tokens(limiter: Limiter, key_id: str, tpm: int, cost: int) -> Grant:
    """Reserve ``cost`` estimated tokens against the key's TPM, or raise ``RateLimitError``
    (``tokens_per_minute_exceeded``, with ``retry_after``) when they do not fit the window."""
    grant = await limiter.reserve(f"{key_id}:tpm", tpm, cost)
    if not isinstance(grant, Grant):
        raise RateLimitError(f"Rate limit reached: {tpm} tokens per minute for this key (this request "
                             f"reserves an estimated {cost}: its prompt plus its output limit).",
                             code="tokens_per_minute_exceeded", retry_after=_retry_after(grant))
    return grant
