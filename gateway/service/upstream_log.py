"""The ``gateway.upstream`` log: a line per failed provider attempt, one when a request gives up.

An attempt line names the provider, the upstream's ``host:port`` (never a URL: a query may
carry a key), the attempt within the deployment (``attempt 2/3``), the cause
(``ConnectError: Connection refused``, ``HTTP 503 from upstream: ...``) and what happens
next (``retrying in 0.21s``, ``retries exhausted, falling back to openai/gpt-4o``,
``not retryable, giving up``). Failures that retry or fall back (rate limits, 5xx,
connection errors, timeouts, 401/403/404) are WARNINGs, and the request giving up on them
is one more WARNING; an error the provider returned that is the request's fault (a 400) is
INFO; an error raised before any provider was reached is not logged here.

Every value is an item of the record's one argument, a mapping: the JSON log format shows
them as fields, and the redaction filter masks secrets in them like in any argument.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from gateway.callers.http import describe_failure
from gateway.errors import GatewayError
from gateway.service.resilience import RetryPolicy, falls_back, retryable
from gateway.service.routing import Route
from gateway.service.tracking import Tracker

log = logging.getLogger("gateway.upstream")

ATTEMPT_FORMAT = ("upstream %(provider)s at %(host)s failed, attempt %(attempt)d/%(attempts)d: %(cause)s; "
                  "%(outcome)s [request_id=%(request_id)s]")
GAVE_UP_FORMAT = ("request %(request_id)s failed after %(attempts)d attempt(s), answering %(status)d "
                  "%(code)s: %(error)s")
STREAM_FORMAT = ("upstream %(provider)s at %(host)s failed mid-stream after %(deltas)d delta(s): %(cause)s; "
                 "not retried, the client already has part of the answer [request_id=%(request_id)s]")


def _level(error: GatewayError) -> int | None:
    if falls_back(error):
        return logging.WARNING
    if isinstance(error.__cause__, httpx.HTTPError):
        return logging.INFO
    return None


def _outcome(error: GatewayError, retry: int, policy: RetryPolicy, delay: float | None,
             fallback: Route | None) -> str:
    if delay is not None:
        return f"retrying in {delay:.3f}s"
    if not retryable(error):
        why = "not retryable"
    elif retry >= policy.max_retries:
        why = "retries exhausted"
    else:
        why = f"Retry-After {error.retry_after or 0:g}s is over the {policy.max_delay:g}s limit"
    if fallback is not None:
        return f"{why}, falling back to {fallback.provider}/{fallback.upstream_model}"
    return f"{why}, giving up"


def _fields(tracker: Tracker, provider: str, error: GatewayError) -> dict[str, Any]:
    failure = describe_failure(error)
    return {"request_id": tracker.info.request_id, "provider": provider, "host": failure.host,
            "cause": tracker.scrub(failure.cause), "status": error.status}


def attempt_failed(tracker: Tracker, route: Route, error: GatewayError, retry: int, policy: RetryPolicy,
                   delay: float | None, fallback: Route | None) -> None:
    """Log attempt ``retry + 1`` of ``route`` failing with ``error``; ``delay`` is the wait
    before the next try (``None``: no retry), ``fallback`` the deployment tried next, if any."""
    level = _level(error)
    if level is None or not log.isEnabledFor(level):
        return
    fields: Mapping[str, Any] = {
        **_fields(tracker, route.provider, error), "model": route.upstream_model, "attempt": retry + 1,
        "attempts": policy.max_retries + 1, "outcome": _outcome(error, retry, policy, delay, fallback),
        "retry_in": round(delay, 3) if delay is not None else None,
    }
    log.log(level, ATTEMPT_FORMAT, fields)


def gave_up(tracker: Tracker, error: GatewayError) -> None:
    """Log the request failing for good with ``error`` after its attempts (only for failures
    that were retryable or fell back: the client's own mistakes are not an upstream failure)."""
    if not falls_back(error) or not log.isEnabledFor(logging.WARNING):
        return
    log.warning(GAVE_UP_FORMAT, {
        "request_id": tracker.info.request_id, "attempts": len(tracker.attempts), "status": error.status,
        "code": error.code or error.error_type, "error": tracker.scrub(error.message),
        "provider": tracker.provider or "-",
    })


def stream_failed(tracker: Tracker, error: GatewayError) -> None:
    """Log a stream that failed after its first event reached the client (the provider is
    the one that was answering)."""
    if tracker.provider is None or not log.isEnabledFor(logging.WARNING):
        return
    log.warning(STREAM_FORMAT, {**_fields(tracker, tracker.provider, error), "deltas": tracker.deltas})
