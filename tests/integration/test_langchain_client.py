"""langchain-openai as a client, unmodified, over real HTTP: ``ChatOpenAI(use_responses_api=True)`` on the
gateway's ``/v1/responses`` (translated to the fake OpenAI Chat Completions upstream) for invoke, stream and a
``bind_tools`` round trip; ``ChatOpenAI(stream_usage=True)`` on ``/v1/chat/completions``; and the default
``OpenAIEmbeddings``, which tokenizes with tiktoken and sends token arrays as ``input``."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from functools import reduce
from operator import add
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, completion, fake_vector, tool_call_stream
from tests.fakes.server import Scripted

pytest.importorskip("langchain_openai")
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings

CALL = {"id": "call_7", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
# tiktoken caches an encoding file under the sha1 of its download address; litellm ships cl100k_base so named.
CL100K_CACHE_NAME = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


class ListingFakeOpenAI(FakeOpenAI):
    """The fake OpenAI upstream whose model list also names the embedding model, as OpenAI's does, so the bare
    ``text-embedding-3-small`` (the name tiktoken needs) resolves through the providers' model lists."""

    def _models(self, request: Request, body: Any) -> Scripted:
        listed = ("gpt-4o-mini", "text-embedding-3-small")
        return Scripted(json={"object": "list", "data": [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "system"} for m in listed]})


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    """``/v1/responses`` in the translated mode: Responses in, Chat Completions to the fake upstream."""
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1",
                                "OPENAI_RESPONSES_API": "translated"})


def responses_llm(gw: RunningGateway) -> ChatOpenAI:
    return ChatOpenAI(model="openai/gpt-4o-mini", use_responses_api=True, base_url=gw.url + "/v1", api_key="x",
                      max_retries=0)


def chats(fake: FakeOpenAI) -> list[Any]:
    """What the upstream received: every request was a chat completion (nothing went to a Responses API)."""
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"] * len(fake.requests)
    return fake.requests


def test_responses_invoke_and_stream(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    llm = responses_llm(gw)
    answer = llm.invoke("hello there")
    assert isinstance(answer, AIMessage) and answer.text == "echo: hello there"
    assert answer.id is not None and answer.id.startswith("resp_")
    assert answer.usage_metadata is not None
    assert (answer.usage_metadata["input_tokens"], answer.usage_metadata["output_tokens"]) == (11, 7)

    chunks = list(llm.stream("hello there"))
    texts = [c.text for c in chunks if c.text]
    assert texts == ["echo: ", "hello ", "there"]  # the upstream's word-by-word deltas, each its own chunk
    streamed = reduce(add, chunks)
    assert streamed.text == "echo: hello there"
    assert streamed.usage_metadata is not None
    assert (streamed.usage_metadata["input_tokens"], streamed.usage_metadata["output_tokens"]) == (11, 3)

    plain, stream = chats(fake_openai)
    for sent in (plain, stream):
        assert sent.body["model"] == "gpt-4o-mini"
        assert sent.body["messages"] == [{"role": "user", "content": "hello there"}]
    assert not plain.body.get("stream") and stream.body["stream"] is True
    records = gw.records()
    assert [(r["endpoint"], r["model_requested"], r["stream"], r["status"]) for r in records] == [
        ("responses", "openai/gpt-4o-mini", True, "SUCCESS"), ("responses", "openai/gpt-4o-mini", False, "SUCCESS")]


@pytest.mark.parametrize("stream", [False, True])
def test_responses_bind_tools_round_trip(gw: RunningGateway, fake_openai: FakeOpenAI, stream: bool) -> None:
    if stream:
        frames = tool_call_stream([("call_7", "get_weather", ['{"city": ', '"Paris"}'])])
        fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    else:
        fake_openai.enqueue(Scripted(json=completion(None, tool_calls=[CALL], finish_reason="tool_calls")))
    llm = responses_llm(gw).bind_tools([get_weather])
    question = HumanMessage("weather in Paris?")
    call_message = reduce(add, llm.stream([question])) if stream else llm.invoke([question])
    assert [(c["name"], c["args"], c["id"]) for c in call_message.tool_calls] == [
        ("get_weather", {"city": "Paris"}, "call_7")]

    result = get_weather.invoke(call_message.tool_calls[0])
    assert isinstance(result, ToolMessage) and result.content == "sunny in Paris"
    final = llm.invoke([question, call_message, result])
    assert final.text == "echo: weather in Paris?" and final.tool_calls == []

    first, second = chats(fake_openai)
    (sent_tool,) = first.body["tools"]
    assert sent_tool["function"]["name"] == "get_weather"
    assert sent_tool["function"]["description"] == "The weather in a city."
    assert list(sent_tool["function"]["parameters"]["properties"]) == ["city"]
    assert bool(first.body.get("stream")) is stream
    user, assistant, returned = second.body["messages"]
    assert user == {"role": "user", "content": "weather in Paris?"}
    assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in assistant["tool_calls"]] == [("call_7", "get_weather", {"city": "Paris"})]
    assert returned == {"role": "tool", "tool_call_id": "call_7", "content": "sunny in Paris"}
    assert [r["endpoint"] for r in gw.records()] == ["responses", "responses"]


def test_chat_completions_stream_usage(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    llm = ChatOpenAI(model="openai/gpt-4o-mini", base_url=gw.url + "/v1", api_key="x", max_retries=0,
                     stream_usage=True)
    chunks = list(llm.stream("hello there"))
    assert [c.text for c in chunks if c.text] == ["echo: ", "hello ", "there"]
    streamed = reduce(add, chunks)
    assert streamed.text == "echo: hello there"
    assert streamed.usage_metadata is not None
    assert (streamed.usage_metadata["input_tokens"], streamed.usage_metadata["output_tokens"],
            streamed.usage_metadata["total_tokens"]) == (11, 3, 14)
    (sent,) = chats(fake_openai)
    assert sent.body["stream"] is True and sent.body["stream_options"] == {"include_usage": True}
    (record,) = gw.records()
    assert (record["endpoint"], record["stream"], record["input_tokens"], record["output_tokens"]) == (
        "chat.completions", True, 11, 3)


@pytest.fixture
def tiktoken_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tiktoken reads cl100k_base from the copy litellm ships instead of downloading it."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("litellm (which ships tiktoken's cl100k_base) is not installed")
    folder = Path(spec.submodule_search_locations[0]) / "litellm_core_utils" / "tokenizers"
    assert (folder / CL100K_CACHE_NAME).is_file(), f"litellm no longer ships cl100k_base as {CL100K_CACHE_NAME}"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(folder))
    yield folder


def test_default_embeddings_send_token_arrays(gateway_factory: GatewayFactory, tiktoken_cache: Path) -> None:
    import tiktoken

    fake = ListingFakeOpenAI().start()
    try:
        gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"})
        # base_url and api_key are pydantic aliases, which the pydantic mypy plugin does not see as arguments
        embeddings = OpenAIEmbeddings(base_url=gw.url + "/v1", api_key="x",  # type: ignore[call-arg]
                                      model="text-embedding-3-small", max_retries=0)
        documents = ["hello world", "goodbye, cruel world"]
        vectors = embeddings.embed_documents(documents)
        query = embeddings.embed_query("hello world")
    finally:
        fake.stop()

    encoding = tiktoken.get_encoding("cl100k_base")
    tokens = [encoding.encode(d) for d in documents]
    sent = [r.body for r in fake.requests if r.path == "/v1/embeddings"]
    assert [b["input"] for b in sent] == [tokens, [tokens[0]]]
    assert all(isinstance(t, int) for b in sent for array in b["input"] for t in array)
    assert {b["model"] for b in sent} == {"text-embedding-3-small"}
    # The fake's vector is a function of what it received (here the token array), 8 dimensions by default.
    assert vectors == [pytest.approx(fake_vector(str(t), 8), abs=1e-6) for t in tokens]
    assert query == pytest.approx(vectors[0], abs=1e-6)
    records = [r for r in gw.records() if r["endpoint"] == "embeddings"]
    assert [(r["provider"], r["model_requested"], r["status"]) for r in records] == [
        ("openai", "text-embedding-3-small", "SUCCESS")] * 2
