"""Replicate prediction objects and stream events -> neutral results.

Reference: Replicate HTTP API, "The prediction object" and the streaming guide.
A prediction's ``status`` is ``starting``, ``processing``, ``succeeded``,
``failed`` or ``canceled``; a language model's ``output`` is a list of string
tokens (joined here). Token counts come from ``metrics.input_token_count`` and
``metrics.output_token_count`` (input = prompt, output = completion).
Replicate reports no stop reason, so ``finish_reason`` is always ``stop``.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from gateway.callers.http import malformed
from gateway.callers.replicate.wire import NAME, parse_replicate_error
from gateway.core.results import ChatResult, Choice, Usage
from gateway.errors import UpstreamError

TERMINAL = frozenset({"succeeded", "failed", "canceled"})


def as_prediction(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("status"), str):
        raise malformed(NAME, "not a prediction object")
    return body


def _trusted(url: str, base_url: str) -> bool:
    """Whether ``url`` is on the provider's own hosts: the base URL's origin, or (Replicate serves
    streams from ``stream.replicate.com`` beside ``api.replicate.com``) an https host on the default
    port under the base host's parent domain. The token goes with the request, so any other host is refused."""
    try:
        target, base = httpx.URL(url), httpx.URL(base_url)
    except httpx.InvalidURL:
        return False
    if (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port):
        return True
    labels = base.host.split(".")
    parent = ".".join(labels[1:]) if len(labels) > 2 else ""  # api.replicate.com -> replicate.com
    return bool(parent) and target.scheme == "https" and target.port is None and target.host.endswith("." + parent)


def prediction_url(prediction: dict[str, Any], kind: str, base_url: str) -> str | None:
    """``urls.get``, ``urls.stream`` or ``urls.cancel``, if the prediction has it. Raises
    ``UpstreamError`` (502) for one that is not on the provider's own hosts (``_trusted``)."""
    urls = prediction.get("urls")
    value = urls.get(kind) if isinstance(urls, dict) else None
    if not isinstance(value, str) or not value:
        return None
    if not _trusted(value, base_url):
        raise UpstreamError(f"{NAME}: the prediction's urls.{kind} is not on the provider's own hosts; "
                            "it is not followed.", code="untrusted_upstream_url", provider=NAME)
    return value


def check_status(prediction: dict[str, Any]) -> None:
    """Raise for a ``failed`` or ``canceled`` prediction."""
    status = prediction["status"]
    if status == "failed":
        detail = prediction.get("error") or "the prediction failed"
        raise UpstreamError(f"{NAME}: {detail}", code="prediction_failed", provider=NAME)
    if status == "canceled":
        raise UpstreamError(f"{NAME}: the prediction was canceled.", code="prediction_canceled", provider=NAME)


def output_text(output: Any) -> str:
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(isinstance(item, str) for item in output):
        return "".join(output)
    raise malformed(NAME, "the output is not text")


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def usage_from_metrics(metrics: Any) -> Usage:
    if not isinstance(metrics, dict):
        return Usage()
    return Usage(input_tokens=_count(metrics.get("input_token_count")),
                 output_tokens=_count(metrics.get("output_token_count")))


def chat_result(prediction: dict[str, Any], text: str, usage: Usage) -> ChatResult:
    model = prediction.get("model")
    return ChatResult(
        choices=(Choice(index=0, content=text, finish_reason="stop"),),
        usage=usage,
        model=model if isinstance(model, str) else None,
        provider_request_id=str(prediction.get("id") or "") or None,
    )


def from_prediction(prediction: dict[str, Any]) -> ChatResult:
    """The result of a finished prediction; raises if it did not succeed."""
    check_status(prediction)
    return chat_result(prediction, output_text(prediction.get("output")), usage_from_metrics(prediction.get("metrics")))


def _json_object(data: str) -> dict[str, Any]:
    try:
        value = orjson.loads(data) if data.strip() else {}
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def stream_error(data: str) -> UpstreamError:
    """An ``error`` event; its data is JSON such as ``{"detail": "..."}``."""
    info = parse_replicate_error(_json_object(data))
    message = info.message if info else (data.strip() or "the prediction failed")
    return UpstreamError(f"{NAME}: {message}", code="upstream_stream_error", provider=NAME)


def check_done(data: str) -> None:
    """A ``done`` event: ``{}`` on success, ``{"reason": "canceled" | "error"}`` otherwise."""
    reason = _json_object(data).get("reason")
    if reason == "canceled":
        raise UpstreamError(f"{NAME}: the prediction was canceled.", code="prediction_canceled", provider=NAME)
    if reason:
        raise UpstreamError(f"{NAME}: the prediction ended with '{reason}'.", code="prediction_failed",
                            provider=NAME)
