"""Cost through the running gateway (fake OpenAI upstream) and ``GET /v1/usage``, on SQLite and PostgreSQL.

The fake answers ``gpt-4o-mini-2024-07-18`` with prompt 11 (3 cached) / completion 7 (2 reasoning)
tokens; at the shipped price of ``openai/gpt-4o-mini`` (0.15 / cached 0.075 / 0.60 USD per million):
input (11 - 3) * 0.15 + 3 * 0.075 = 1.425e-6, output 7 * 0.60 = 4.2e-6, total 5.625e-6 USD.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, completion, openai_error
from tests.fakes.server import Scripted

MASTER = "master-key-for-tests"
AUTH = {"authorization": f"Bearer {MASTER}"}
BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
INPUT_COST, OUTPUT_COST, COST = Decimal("0.000001425000"), Decimal("0.000004200000"), Decimal("0.000005625000")


def start(factory: GatewayFactory, fake: FakeOpenAI, config: str | None = None, **overrides: Any) -> RunningGateway:
    env = {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}
    return factory(env=env, config=config, master_key=MASTER, **overrides)


def metrics_of(record: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {m["name"]: m for m in record["metrics"]}


def chat(gw: RunningGateway, request_id: str, body: dict[str, Any] | None = None) -> int:
    response = gw.http.post("/v1/chat/completions", json=body or BODY, headers={**AUTH, "x-request-id": request_id})
    return response.status_code


def by_request_id(gw: RunningGateway) -> dict[str, dict[str, Any]]:
    return {r["request_id"]: r for r in gw.records()}


def exercise(gw: RunningGateway, fake: FakeOpenAI) -> dict[str, dict[str, Any]]:
    """Two priced successes, one success of an unknown model, one failure."""
    assert chat(gw, "priced-1") == 200
    assert chat(gw, "priced-2") == 200
    fake.enqueue(Scripted(json=completion("local", model="house-model")))
    assert chat(gw, "unpriced", {**BODY, "model": "openai/house-model"}) == 200
    fake.enqueue(openai_error(500, "boom", "server_error"))
    assert chat(gw, "failed") == 502
    return by_request_id(gw)


def check_records(records: dict[str, dict[str, Any]]) -> None:
    priced = records["priced-1"]
    assert (Decimal(priced["input_cost"]), Decimal(priced["output_cost"]), Decimal(priced["cost"])) == (
        INPUT_COST, OUTPUT_COST, COST)
    metrics = metrics_of(priced)
    assert (metrics["INPUT_COST"]["value"], metrics["OUTPUT_COST"]["value"], metrics["COST"]["value"]) == (
        "0.000001425000", "0.000004200000", "0.000005625000")
    assert Decimal(metrics["COST"]["value"]) == COST
    assert "USD" in metrics["COST"]["description"] and "USD" in metrics["INPUT_COST"]["description"]
    for name in ("unpriced", "failed"):
        record = records[name]
        assert record["cost"] is None and record["input_cost"] is None, "unknown -> no cost, not zero"
        assert "COST" not in metrics_of(record)


def usage(gw: RunningGateway, **params: Any) -> dict[str, Any]:
    response = gw.http.get("/v1/usage", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def check_usage(gw: RunningGateway) -> None:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    report = usage(gw, group_by="model")
    assert report["group_by"] == ["model"]
    rows = {row["model"]: row for row in report["data"]}
    assert rows["openai/gpt-4o-mini"] == {
        "model": "openai/gpt-4o-mini", "requests": 3, "input_tokens": 22, "output_tokens": 14,
        "total_tokens": 36, "input_cost": "0.000002850000", "output_cost": "0.000008400000",
        "cost": "0.000011250000", "unpriced_requests": 1}
    assert rows["openai/house-model"]["cost"] is None and rows["openai/house-model"]["requests"] == 1
    assert report["total"]["requests"] == 4 and report["total"]["cost"] == "0.000011250000"
    assert Decimal(report["total"]["cost"]) == 2 * COST

    full = usage(gw)
    assert full["group_by"] == ["day", "model", "provider", "key"]
    first = full["data"][0]
    assert (first["day"], first["provider"], first["key_id"]) == (today, "openai", None)
    assert sum(row["requests"] for row in full["data"]) == 4

    by_day = usage(gw, group_by=["day", "provider"])
    assert [(r["day"], r["provider"], r["requests"]) for r in by_day["data"]] == [(today, "openai", 4)]

    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    empty = usage(gw, since=later.isoformat(), until=(later + dt.timedelta(days=1)).isoformat())
    assert empty["data"] == [] and empty["total"]["requests"] == 0 and empty["total"]["cost"] is None


def test_cost_and_usage_on_sqlite(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = start(gateway_factory, fake_openai)
    check_records(exercise(gw, fake_openai))
    check_usage(gw)


@pytest.mark.postgres
def test_cost_and_usage_on_postgres(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                    postgres_url: str) -> None:
    gw = start(gateway_factory, fake_openai, database_url=postgres_url)
    check_records(exercise(gw, fake_openai))
    check_usage(gw)


def test_streamed_usage_is_priced(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = start(gateway_factory, fake_openai)
    with gw.http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True},
                        headers={**AUTH, "x-request-id": "streamed"}) as response:
        assert response.status_code == 200
        response.read()
    record = by_request_id(gw)["streamed"]
    # the fake streams "echo: hi" as 2 deltas with usage prompt 11 / completion 2, nothing cached
    assert Decimal(record["cost"]) == (11 * Decimal("0.15") + 2 * Decimal("0.60")) / 1_000_000
    assert metrics_of(record)["COST"]["value"] == "0.000002850000"


def test_config_prices_override_the_shipped_ones(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    config = "prices:\n  openai/gpt-4o-mini: {input: '1', output: '2'}\n  openai/house-model: {input: 0.5, output: 1}\n"
    gw = start(gateway_factory, fake_openai, config=config)
    assert chat(gw, "override") == 200
    fake_openai.enqueue(Scripted(json=completion("local", model="house-model")))
    assert chat(gw, "added", {**BODY, "model": "openai/house-model"}) == 200
    records = by_request_id(gw)
    # no cached price in the override: the 3 cached tokens cost the input price
    assert Decimal(records["override"]["cost"]) == Decimal("0.000025000000")
    assert Decimal(records["added"]["cost"]) == Decimal("0.000012500000")


def test_activity_costs_read_as_their_metrics_never_in_exponent_form(gateway_factory: GatewayFactory,
                                                                     fake_openai: FakeOpenAI) -> None:
    config = "prices:\n  openai/gpt-4o-mini: {input: '0.01', output: '0.05'}\n"
    gw = start(gateway_factory, fake_openai, config=config)
    assert chat(gw, "tiny") == 200
    listed = by_request_id(gw)["tiny"]
    fetched = gw.http.get("/v1/activity/tiny", headers=AUTH).json()
    # 11 * 0.01 / 1e6 and 7 * 0.05 / 1e6 USD: below 1e-6, where str(Decimal) switches to "1.10000E-7"
    expected = ("0.000000110000", "0.000000350000", "0.000000460000")
    for record in (listed, fetched):
        metrics = metrics_of(record)
        assert (record["input_cost"], record["output_cost"], record["cost"]) == expected
        assert tuple(metrics[name]["value"] for name in ("INPUT_COST", "OUTPUT_COST", "COST")) == expected


def test_usage_needs_the_master_key_and_valid_parameters(gateway_factory: GatewayFactory,
                                                         fake_openai: FakeOpenAI) -> None:
    gw = start(gateway_factory, fake_openai)
    assert gw.http.get("/v1/usage").status_code == 401
    wrong = gw.http.get("/v1/usage", params={"group_by": "model,color"}, headers=AUTH)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["param"] == "group_by" and "color" in wrong.json()["error"]["message"]
    backwards = gw.http.get("/v1/usage", params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
                            headers=AUTH)
    assert backwards.status_code == 400 and backwards.json()["error"]["param"] == "since"


def test_embeddings_are_priced_on_input_tokens(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = start(gateway_factory, fake_openai)
    response = gw.http.post("/v1/embeddings", json={"model": "openai/text-embedding-3-small", "input": ["a b", "c"],
                                                     "encoding_format": "float"},
                            headers={**AUTH, "x-request-id": "embedded"})
    assert response.status_code == 200
    record = by_request_id(gw)["embedded"]
    # the fake counts 3 words as 3 tokens; 3 * 0.02 per million, no output
    assert (Decimal(record["input_cost"]), Decimal(record["output_cost"]), Decimal(record["cost"])) == (
        Decimal("0.00000006"), Decimal(0), Decimal("0.00000006"))
