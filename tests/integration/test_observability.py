"""Prometheus metrics and the per-response gateway-overhead header."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import RunningGateway

BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample line of the exposition, matched on a subset of its labels."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels}")


def test_overhead_header_is_on_every_response(gateway: RunningGateway) -> None:
    response = gateway.http.post("/v1/chat/completions", json=BODY)
    overhead = float(response.headers["x-gateway-overhead-ms"])
    assert 0 <= overhead < response.elapsed.total_seconds() * 1000
    with gateway.http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as streamed:
        assert float(streamed.headers["x-gateway-overhead-ms"]) >= 0
        streamed.read()
    error = gateway.http.post("/v1/chat/completions", json={"model": "x"})
    assert re.fullmatch(r"\d+\.\d{3}", error.headers["x-gateway-overhead-ms"])


def test_prometheus_exposition_counts_requests_latency_tokens_and_overhead(gateway: RunningGateway) -> None:
    for _ in range(2):
        assert gateway.http.post("/v1/chat/completions", json=BODY).status_code == 200
    gateway.http.post("/v1/chat/completions", json={**BODY, "model": "openai/"})
    with gateway.http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as streamed:
        streamed.read()
    text = gateway.http.get("/metrics").text
    ok = {"endpoint": "chat.completions", "provider": "openai", "model": "openai/gpt-4o-mini", "status": "SUCCESS"}
    assert sample(text, "gateway_requests_total", **ok) == 3
    assert sample(text, "gateway_tokens_total", provider="openai", direction="input") == 33
    assert sample(text, "gateway_request_duration_seconds_count", endpoint="chat.completions") == 3
    assert sample(text, "gateway_time_to_first_token_seconds_count", provider="openai") == 1
    assert sample(text, "gateway_overhead_seconds_count", endpoint="/v1/chat/completions") == 4
    assert sample(text, "gateway_records_queue_depth") >= 0
