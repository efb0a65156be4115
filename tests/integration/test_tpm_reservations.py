"""Tokens-per-minute limits hold under concurrency: a request reserves its estimated tokens
(prompt estimate + output limit) atomically before the provider call, only if they fit, and its
record settles the reservation to the tokens counted, a cancelled stream's prompt included.

The bound asserted: while no reservation is settled, the reservations admitted in a window add
up to at most the limit, and exactly as many requests pass as fit (a request bigger than the whole
limit passes only into an empty window). Bursts run against two gateways sharing one Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.api.translate import to_chat_call
from gateway.schemas.openai import ChatCompletionRequest
from gateway.service import estimate
from gateway.service.limits import Grant, LocalLimiter, RedisLimiter, wait_until_fits
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, completion, text_stream
from tests.fakes.server import Scripted

REDIS = "redis://127.0.0.1:6379/0"
MASTER = "master-key-for-tpm-tests"
MESSAGES = [{"role": "user", "content": "hi"}]
Gateways = tuple[RunningGateway, RunningGateway]


def estimated(body: dict[str, Any]) -> estimate.TokenEstimate:
    return estimate.chat(to_chat_call(ChatCompletionRequest.model_validate(body)), 1024)


def clear_of_minute_boundary(seconds: float = 12.0) -> None:
    """Sleep into the next minute if fewer than ``seconds`` are left in this one (the bound is per window)."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.2)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


MINUTE = 60 * 29_000_000


async def test_a_reservation_passes_only_if_it_fits_and_a_bigger_than_limit_one_needs_an_empty_window() -> None:
    clock = Clock(MINUTE + 10)
    limiter = LocalLimiter(clock)
    outcomes = [await limiter.reserve("a", 1000, 300) for _ in range(4)]
    assert [isinstance(o, Grant) for o in outcomes] == [True, True, True, False]
    assert isinstance(await limiter.reserve("a", 1000, 100), Grant), "the last 100 still fit"
    assert not isinstance(await limiter.reserve("a", 1000, 0), Grant), "a full window refuses even a probe"
    assert isinstance(await limiter.reserve("b", 1000, 5000), Grant), "an empty window takes a too-big request"
    assert not isinstance(await limiter.reserve("b", 1000, 1), Grant)


async def test_settling_refunds_into_the_reserving_minute_and_counts_an_excess_now() -> None:
    clock = Clock(MINUTE + 50)
    limiter = LocalLimiter(clock)
    small = await limiter.reserve("k", 1000, 600)
    assert isinstance(small, Grant)
    await limiter.settle(small, 100)
    large = await limiter.reserve("k", 1000, 900)
    assert isinstance(large, Grant), "100 used + 900 fits"
    clock.now = MINUTE + 65
    assert not isinstance(await limiter.reserve("k", 1000, 90), Grant), "the last minute weighs 1000 * 55/60"
    await limiter.settle(large, 0)
    assert isinstance(await limiter.reserve("k", 1000, 90), Grant), "the refund went to the reserving minute"
    over = await limiter.reserve("x", 1000, 100)
    assert isinstance(over, Grant)
    await limiter.settle(over, 1100)
    assert not isinstance(await limiter.reserve("x", 1000, 1), Grant), "tokens used beyond the estimate count"


@pytest.mark.parametrize(("first_at", "used", "then_at", "cost"), [
    (10, 900, 10, 500),   # current minute too full: fits only once the next minute has decayed it
    (50, 900, 65, 800),   # the weighted previous minute decays within this one
    (10, 1000, 20, 1),    # a full window
    (5, 1500, 30, 2000),  # a too-big request after a too-big one: the window must empty
])
async def test_retry_after_is_exactly_when_the_request_would_fit(first_at: float, used: int, then_at: float,
                                                                 cost: int) -> None:
    clock = Clock(MINUTE + first_at)
    limiter = LocalLimiter(clock)
    assert isinstance(await limiter.reserve("k", 1000, used), Grant)
    clock.now = MINUTE + then_at
    wait = await limiter.reserve("k", 1000, cost)
    assert isinstance(wait, float) and 0 < wait <= 120
    clock.now = MINUTE + then_at + wait - 0.5
    assert not isinstance(await limiter.reserve("k", 1000, cost), Grant)
    clock.now = MINUTE + then_at + wait + 0.01
    assert isinstance(await limiter.reserve("k", 1000, cost), Grant)


def test_the_wait_formula_matches_the_window_it_describes() -> None:
    assert wait_until_fits(0, 500, 0.5, 1000, 400) is None
    assert wait_until_fits(900, 0, 0.0, 1000, 300) == pytest.approx(60 * (1 - 700 / 900))
    assert wait_until_fits(0, 900, 0.5, 1000, 300) == pytest.approx(30 + 60 * (1 - 700 / 900))


def test_the_estimate_is_bytes_over_four_plus_chat_overhead_plus_the_output_limit() -> None:
    assert estimated({"model": "m", "messages": MESSAGES, "max_tokens": 100}) == estimate.TokenEstimate(8, 100)
    assert estimated({"model": "m", "messages": MESSAGES, "max_completion_tokens": 7, "n": 3}).output == 21
    assert estimated({"model": "m", "messages": MESSAGES}).output == 1024
    words = {"model": "m", "messages": [{"role": "user", "content": "word " * 5000}]}
    assert estimated(words).input == 3 + 4 + 25_000 // 4
    url = "data:image/png;base64," + "A" * 9000
    image = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
    assert estimated({"model": "m", "messages": [image]}).input == 3 + 4 + estimate.IMAGE_TOKENS
    assert estimate.texts(["abcd", "é"]).total == 2


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis unreachable at {REDIS}: {exc}")


async def test_redis_reservations_are_atomic_across_limiters_and_settle() -> None:
    _redis_or_skip()
    clear_of_minute_boundary(5)
    prefix = f"gateway:test-tpm:{uuid.uuid4().hex}:"
    limiters = [RedisLimiter(REDIS, prefix=prefix), RedisLimiter(REDIS, prefix=prefix)]
    try:
        outcomes = await asyncio.gather(*(limiters[i % 2].reserve("k", 1000, 100) for i in range(60)))
        grants = [o for o in outcomes if isinstance(o, Grant)]
        waits = [o for o in outcomes if not isinstance(o, Grant)]
        assert len(grants) == 10 and all(0 < wait <= 120 for wait in waits)
        await asyncio.gather(*(limiters[0].settle(g, 50) for g in grants))
        again = await asyncio.gather(*(limiters[1].reserve("k", 1000, 100) for _ in range(8)))
        assert sum(isinstance(o, Grant) for o in again) == 5
    finally:
        for limiter in limiters:
            await limiter.close()


async def test_an_unreachable_redis_lets_requests_through() -> None:
    limiter = RedisLimiter("redis://127.0.0.1:1/0")
    grant = await limiter.reserve("k", 10, 1000)
    assert isinstance(grant, Grant) and grant.window is None
    await limiter.settle(grant, 5)
    await limiter.close()


def keyed(gateway_factory: GatewayFactory, fake: FakeOpenAI, database: str) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"},
                           master_key=MASTER, redis_url=REDIS, database_url=database)


@pytest.fixture
def pair(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, tmp_path: Path) -> Gateways:
    """Two gateways (separate servers, event loops and Redis connections) sharing Redis and a database."""
    _redis_or_skip()
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    return keyed(gateway_factory, fake_openai, database), keyed(gateway_factory, fake_openai, database)


def new_key(gw: RunningGateway, **limits: int) -> dict[str, str]:
    response = gw.http.post("/v1/keys", json={"name": f"tpm-{uuid.uuid4().hex[:6]}", **limits},
                            headers={"authorization": f"Bearer {MASTER}"})
    assert response.status_code == 201, response.text
    return {"authorization": f"Bearer {response.json()['key']}"}


def post(gw: RunningGateway, body: dict[str, Any], headers: dict[str, str]) -> int:
    with httpx.Client(base_url=gw.url, timeout=30) as client:
        if not body.get("stream"):
            return client.post("/v1/chat/completions", json=body, headers=headers).status_code
        with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
            response.read()
            assert response.status_code != 200 or response.text.rstrip().endswith("data: [DONE]")
            return response.status_code


def burst(gateways: Gateways, body: dict[str, Any], headers: dict[str, str], count: int) -> list[int]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda i: post(gateways[i % 2], body, headers), range(count)))


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_concurrent_burst_across_two_gateways_passes_only_as_many_as_fit(
        pair: Gateways, fake_openai: FakeOpenAI, stream: bool) -> None:
    limit, count = 1000, 30
    body = {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "max_tokens": 100, "stream": stream}
    cost = estimated(body).total
    assert cost == 108
    headers = new_key(pair[0], tpm=limit)
    answer = Scripted(stream=text_stream(["ok"]), media_type="text/event-stream", delay=3.0) if stream \
        else Scripted(json=completion("ok"), delay=3.0)
    fake_openai.enqueue(*[answer] * count)
    clear_of_minute_boundary()
    codes = burst(pair, body, headers, count)
    admitted = codes.count(200)
    assert admitted * cost <= limit < (admitted + 1) * cost, codes
    assert codes.count(429) == count - admitted and len(fake_openai.requests) == admitted
    wait_for(lambda: len(pair[0].records()) == count)
    records = pair[0].records()
    assert {r["total_tokens"] for r in records if r["http_status"] == 200} == {18 if not stream else 12}
    assert sum(r["http_status"] == 429 for r in records) == count - admitted, "refusals leave records too"


def test_a_request_refused_for_its_tokens_does_not_count_against_rpm(pair: Gateways) -> None:
    headers = new_key(pair[0], tpm=100, rpm=2)
    first, second = pair

    def send(gw: RunningGateway, max_tokens: int) -> httpx.Response:
        body = {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "max_tokens": max_tokens}
        return gw.http.post("/v1/chat/completions", json=body, headers=headers)

    clear_of_minute_boundary()
    assert send(first, 50).status_code == 200  # reserved 58, settled to 18
    wait_for(lambda: len(first.records()) == 1)
    too_many = send(second, 90)  # 18 + 98 > 100
    assert too_many.status_code == 429 and too_many.json()["error"]["code"] == "tokens_per_minute_exceeded"
    assert "reserves an estimated 98" in too_many.json()["error"]["message"]
    assert 1 <= int(too_many.headers["retry-after"]) <= 120
    assert send(first, 4).status_code == 200, "the refused request gave its RPM slot back"
    assert send(second, 4).json()["error"]["code"] == "requests_per_minute_exceeded"


def cancel_after_two_events(gw: RunningGateway, body: dict[str, Any], headers: dict[str, str], request_id: str) -> int:
    with httpx.Client(base_url=gw.url, timeout=30) as client, client.stream(
            "POST", "/v1/chat/completions", json=body, headers={**headers, "x-request-id": request_id}) as response:
        if response.status_code != 200:
            response.read()
            return response.status_code
        events = 0
        for line in response.iter_lines():
            events += line.startswith("data: ")
            if events == 2:
                break
        return 200


def cancelled_record(gw: RunningGateway, request_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def recorded() -> bool:
        found[:] = [r for r in gw.records() if r["request_id"] == request_id]
        return bool(found)

    wait_for(recorded)
    time.sleep(0.1)
    record = found[0]
    assert (record["status"], record["stream"]) == ("CANCELLED", True)
    return record


def input_metric(record: dict[str, Any]) -> dict[str, str]:
    metric: dict[str, str] = next(m for m in record["metrics"] if m["name"] == "INPUT_TOKEN")
    return metric


def slow_streams(fake: FakeOpenAI, count: int) -> None:
    words = [f"w{i} " for i in range(200)]
    fake.enqueue(*[Scripted(stream=text_stream(words), media_type="text/event-stream", gap=0.05)] * count)


def test_31_long_prompts_cancelled_after_two_events_trip_tpm_1000(pair: Gateways, fake_openai: FakeOpenAI) -> None:
    body = {"model": "openai/gpt-4o-mini", "stream": True,
            "messages": [{"role": "user", "content": "word " * 5000}]}
    prompt = estimated(body).input
    headers = new_key(pair[0], tpm=1000)
    slow_streams(fake_openai, 31)
    clear_of_minute_boundary(30)
    codes: list[int] = []
    for n in range(31):
        codes.append(cancel_after_two_events(pair[n % 2], body, headers, f"long-{n}"))
        if n == 0:
            record = cancelled_record(pair[0], "long-0")
            assert record["input_tokens"] == prompt == 6257 and record["total_tokens"] >= prompt
            assert "estimated" in input_metric(record)["description"]
    assert codes == [200] + [429] * 30 and len(fake_openai.requests) == 1


def test_cancelled_streams_count_their_estimated_prompt_until_the_limit_trips(
        pair: Gateways, fake_openai: FakeOpenAI) -> None:
    limit = 1000
    body = {"model": "openai/gpt-4o-mini", "stream": True, "max_tokens": 10,
            "messages": [{"role": "user", "content": "word " * 100}]}
    tokens = estimated(body)
    assert (tokens.input, tokens.total) == (132, 142)
    headers = new_key(pair[0], tpm=limit)
    slow_streams(fake_openai, 31)
    clear_of_minute_boundary(40)
    settled: list[int] = []
    for n in range(31):
        if cancel_after_two_events(pair[n % 2], body, headers, f"mid-{n}") != 200:
            break
        record = cancelled_record(pair[0], f"mid-{n}")
        assert record["input_tokens"] == tokens.input and "estimated" in input_metric(record)["description"]
        assert sum(settled) + tokens.total <= limit, "admitted only while the reservation fitted"
        settled.append(record["total_tokens"])
    assert 0 < len(settled) < 31, "with the prompt counted the limit trips; counting output alone it never would"
    assert sum(settled) + tokens.total > limit
