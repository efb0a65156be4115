"""The gateway in front of a real OpenAI-compatible server (llama-cpp-python, Gemma 3 270M) answers
as the server does: the same text and token counts at temperature 0, the client's ``max_tokens``
honoured, a stream equal to the non-stream answer, and the server's model in ``/v1/models``.

llama.cpp's first answer to a prompt can differ from later ones (the prompt cache: a fully new
prompt is evaluated in one batch, a repeated one only from its last token), so each comparison
first sends the prompt directly once to warm the cache, then compares a direct answer with the
gateway's, both made from the same cache state.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.conftest import RunningGateway
from tests.realmodel.conftest import LlamaServer

MODELS = ["openai/gemma3-270m", "llamacpp/gemma3-270m"]
pytestmark = pytest.mark.realmodel

SHORT = [{"role": "user", "content": "Name three colors."}]
LONG = [{"role": "user", "content": "Write a long story about a dragon who learns to bake bread."}]


def chat(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """One completion from ``client`` (the server's or the gateway's, both rooted above ``/v1``)."""
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def warm_direct(direct: httpx.Client, body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
    """The server's own answer to ``body``, after one warming call with the same prompt."""
    plain = {**body, "model": upstream_model}
    chat(direct, plain)
    return chat(direct, plain)


def stream_chunks(gw: RunningGateway, body: dict[str, Any]) -> list[dict[str, Any]]:
    with gw.http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200, response.read()
        frames = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    return [orjson.loads(frame) for frame in frames[:-1]]


def joined(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


@pytest.mark.parametrize("model", MODELS)
def test_an_answer_equals_the_servers_own(model: str, realmodel_gateway: RunningGateway, direct: httpx.Client,
                                          llama_server: LlamaServer) -> None:
    body = {"model": model, "messages": SHORT, "temperature": 0, "max_tokens": 32}
    expected = warm_direct(direct, body, llama_server.model)
    got = chat(realmodel_gateway.http, body)
    assert got["choices"][0]["message"]["content"] == expected["choices"][0]["message"]["content"]
    assert got["choices"][0]["finish_reason"] == expected["choices"][0]["finish_reason"]
    assert {k: got["usage"][k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")} == expected["usage"]
    assert got["model"] == model and got["choices"][0]["message"]["content"]


@pytest.mark.parametrize(("model", "limit"), [
    ("openai/gemma3-270m", "max_tokens"),
    ("llamacpp/gemma3-270m", "max_tokens"),
    ("llamacpp/gemma3-270m", "max_completion_tokens"),
])
def test_the_clients_output_limit_is_honoured(model: str, limit: str, realmodel_gateway: RunningGateway) -> None:
    client = openai.OpenAI(base_url=realmodel_gateway.url + "/v1", api_key="unused", max_retries=0, timeout=120)
    reply = client.chat.completions.create(model=model, messages=LONG, temperature=0,  # type: ignore[call-overload]
                                           **{limit: 24})
    assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 24
    assert reply.choices[0].finish_reason == "length"


@pytest.mark.parametrize("model", MODELS)
def test_a_stream_equals_the_answer_and_invents_no_usage(model: str, realmodel_gateway: RunningGateway,
                                                         direct: httpx.Client, llama_server: LlamaServer) -> None:
    body = {"model": model, "messages": SHORT, "temperature": 0, "max_tokens": 32}
    warm_direct(direct, body, llama_server.model)
    answer = chat(realmodel_gateway.http, body)
    chunks = stream_chunks(realmodel_gateway, {**body, "stream_options": {"include_usage": True}})
    assert joined(chunks) == answer["choices"][0]["message"]["content"]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finishes == [answer["choices"][0]["finish_reason"]]
    assert not any(c.get("usage") for c in chunks), "llama.cpp sends no usage in a stream; none is made up"
    streamed = next(r for r in realmodel_gateway.records(model=model) if r["stream"])
    assert (streamed["status"], streamed["input_tokens"], streamed["output_tokens"]) == ("SUCCESS", None, None)


def test_models_lists_the_servers_model_under_both_providers(realmodel_gateway: RunningGateway,
                                                             llama_server: LlamaServer) -> None:
    client = openai.OpenAI(base_url=realmodel_gateway.url + "/v1", api_key="unused", max_retries=0)
    listed = [m.id for m in client.models.list()]
    assert listed == [f"llamacpp/{llama_server.model}", f"openai/{llama_server.model}"]
    assert client.models.retrieve(f"llamacpp/{llama_server.model}").owned_by == "llamacpp"
