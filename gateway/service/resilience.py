"""Retries, fallbacks and cooldowns around provider calls.

* A retryable failure (429, 502, 503, 504: rate limits, provider 5xx, connection
  errors and timeouts) is retried with exponential backoff and full jitter,
  honouring the provider's ``Retry-After`` (a wait longer than ``max_delay`` is
  not waited for: the error goes to the next deployment or the client).
* When a deployment gives up, the next one in the alias's fallback chain is
  tried, for retryable failures and for 401/403/404 (a bad key or a missing
  model at one deployment says nothing about the next). Other client errors
  (400, 413, 422) are the request's fault and end the chain at once.
* Only upstream failures are retried; a deployment's own failure (a missing credential) falls
  back at once and is recorded as a failed attempt; the gateway's own errors end the request
  (``GatewayError.source``).
* A deployment that fails ``failures`` times in a row is cooled down for
  ``seconds``: while cooling it is tried only after every available one.

Streams are retried only before anything reached the client (the service opens
the stream and waits for its first event inside an attempt).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from gateway.errors import GatewayError
from gateway.store.records import Attempt

__all__ = ["Attempt", "Cooldowns", "RetryPolicy", "falls_back", "retryable"]

T = TypeVar("T")

RETRYABLE = frozenset({429, 502, 503, 504})
FALLBACK = RETRYABLE | {401, 403, 404}


def retryable(error: GatewayError) -> bool:
    """An upstream failure whose status says a second try may succeed."""
    return error.status in RETRYABLE and error.source == "upstream"


def falls_back(error: GatewayError) -> bool:
    """A failure of this deployment (upstream, or the deployment's own, such as a missing
    credential) that the next deployment may not share."""
    return error.status in FALLBACK and error.source in ("upstream", "deployment")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay: float = 0.25
    max_delay: float = 8.0

    def delay(self, retry: int, error: GatewayError, rng: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before retry number ``retry + 1``; ``None`` means do not retry."""
        if retry >= self.max_retries or not retryable(error):
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_delay else None
        return float(rng() * min(self.max_delay, self.base_delay * (2**retry)))


@dataclass(slots=True)
class _Health:
    failures: int = 0
    cooling_until: float = 0.0


@dataclass
class Cooldowns:
    """Consecutive-failure counters per deployment; bounded by the number of deployments used."""

    failures: int = 3
    seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _health: dict[Hashable, _Health] = field(default_factory=dict)

    def cooling(self, deployment: Hashable) -> bool:
        health = self._health.get(deployment)
        return health is not None and health.cooling_until > self.clock()

    def order(self, deployments: Sequence[T], key: Callable[[T], Hashable]) -> list[T]:
        """Available deployments first (in their order), cooling ones last."""
        ready = [d for d in deployments if not self.cooling(key(d))]
        return ready + [d for d in deployments if self.cooling(key(d))]

    def succeeded(self, deployment: Hashable) -> None:
        self._health.pop(deployment, None)

    def failed(self, deployment: Hashable) -> None:
        health = self._health.setdefault(deployment, _Health())
        health.failures += 1
        if self.failures > 0 and health.failures >= self.failures:
            health.cooling_until = self.clock() + self.seconds
            health.failures = 0
