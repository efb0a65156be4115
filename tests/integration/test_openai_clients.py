"""Clients that speak OpenAI work unmodified: the official ``openai`` SDK against the running gateway
over real HTTP, with fake upstreams on loopback.

- ``POST /v1/completions`` (legacy text completions), native to the fake OpenAI upstream and
  translated through chat to the fake Gemini upstream, JSON and streamed, every body and chunk
  checked against OpenAI's ``CreateCompletionResponse``;
- unmodelled top-level chat fields (new OpenAI fields, ``extra_body`` server extensions) reaching an
  OpenAI-format upstream unchanged, and refused by name (or dropped, when the operator allows) for a
  translated provider;
- token-array embedding inputs, forwarded to OpenAI-format upstreams, refused for the rest;
- bare model names (``gpt-4o-mini``): the default provider, the providers' listed models, ambiguity.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.gemini_fake import VALID_KEY as GEMINI_KEY
from tests.fakes.gemini_fake import FakeGemini
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI
from tests.openapi import assert_valid

MESSAGES: list[Any] = [{"role": "user", "content": "hello there"}]
NEW_FIELDS = {"prompt_cache_key": "user-42", "safety_identifier": "hash-1", "verbosity": "low",
              "prediction": {"type": "content", "content": "x"}, "service_tier": "flex", "store": False,
              "web_search_options": {}}
EXTENSIONS = {"top_k": 5, "min_p": 0.1, "repetition_penalty": 1.1,
              "chat_template_kwargs": {"enable_thinking": False}}


@pytest.fixture
def fake_gemini() -> Iterator[FakeGemini]:
    fake = FakeGemini().start()
    yield fake
    fake.stop()


def openai_env(fake: FakeOpenAI) -> dict[str, str]:
    return {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}


def gemini_env(fake: FakeGemini) -> dict[str, str]:
    return {"GEMINI_API_KEY": GEMINI_KEY, "GEMINI_BASE_URL": fake.url}


def client(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="anything", max_retries=0)


def assert_chunk_valid(chunk: dict[str, Any]) -> None:
    """A stream chunk in ``CreateCompletionResponse``'s shape (the spec says both share it); the spec
    does not declare the ``finish_reason: null`` OpenAI sends on chunks before the last."""
    choices = [{**c, "finish_reason": c["finish_reason"] or "stop"} for c in chunk["choices"]]
    assert_valid("CreateCompletionResponse", {**chunk, "choices": choices})


def last_record(gw: RunningGateway) -> dict[str, Any]:
    records = gw.records()
    assert records, "no record"
    return records[0]


@pytest.fixture
def both(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, fake_gemini: FakeGemini) -> RunningGateway:
    return gateway_factory(env={**openai_env(fake_openai), **gemini_env(fake_gemini)})


def test_completions_native_json(both: RunningGateway, fake_openai: FakeOpenAI) -> None:
    completion = client(both).completions.create(model="openai/gpt-3.5-turbo-instruct", prompt="say hi",
                                                 max_tokens=7, extra_body={"top_k": 3})
    assert_valid("CreateCompletionResponse", completion.model_dump(exclude_unset=True))
    assert completion.object == "text_completion"
    assert completion.id.startswith("cmpl-")
    assert completion.model == "openai/gpt-3.5-turbo-instruct"
    assert completion.choices[0].text == "echo: say hi"
    assert completion.usage is not None and completion.usage.total_tokens == 9
    sent = fake_openai.last
    assert sent.path == "/v1/completions"
    assert sent.body == {"model": "gpt-3.5-turbo-instruct", "prompt": "say hi", "max_tokens": 7, "top_k": 3}
    record = last_record(both)
    assert (record["endpoint"], record["status"], record["total_tokens"]) == ("completions", "SUCCESS", 9)


def test_completions_native_stream(both: RunningGateway, fake_openai: FakeOpenAI) -> None:
    stream = client(both).completions.create(model="openai/gpt-3.5-turbo-instruct", prompt=["a b", "c"], n=1,
                                             stream=True, stream_options={"include_usage": True})
    chunks = [chunk.model_dump(exclude_unset=True) for chunk in stream]
    for chunk in chunks:
        assert chunk["object"] == "text_completion"
        assert_chunk_valid(chunk)
    texts: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            texts[choice["index"]] = texts.get(choice["index"], "") + choice["text"]
    assert texts == {0: "echo: a b", 1: "echo: c"}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 9
    assert len({c["id"] for c in chunks}) == 1
    assert fake_openai.last.body["stream_options"] == {"include_usage": True}
    record = last_record(both)
    assert (record["endpoint"], record["total_tokens"]) == ("completions", 9)


def test_completions_translated_through_chat(both: RunningGateway, fake_gemini: FakeGemini) -> None:
    completion = client(both).completions.create(model="gemini/gemini-2.5-flash", prompt="say hi", max_tokens=5)
    assert_valid("CreateCompletionResponse", completion.model_dump(exclude_unset=True))
    assert completion.choices[0].text == "echo: say hi"
    assert completion.choices[0].finish_reason == "stop"
    assert fake_gemini.last.body["contents"][-1]["parts"][0]["text"] == "say hi"
    assert last_record(both)["endpoint"] == "completions"
    several = client(both).completions.create(model="gemini/gemini-2.5-flash", prompt=["one", "two"])
    assert [(c.index, c.text) for c in several.choices] == [(0, "echo: one"), (1, "echo: two")]


def test_completions_translated_stream(both: RunningGateway) -> None:
    stream = client(both).completions.create(model="gemini/gemini-2.5-flash", prompt="say hi there",
                                             stream=True, stream_options={"include_usage": True})
    chunks = [chunk.model_dump(exclude_unset=True) for chunk in stream]
    for chunk in chunks:
        assert_chunk_valid(chunk)
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == "echo: say hi there"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["total_tokens"] > 0


@pytest.mark.parametrize(("fields", "param"), [
    ({"logprobs": 2}, "logprobs"), ({"echo": True}, "echo"), ({"suffix": "}"}, "suffix"),
    ({"prompt": [1, 2, 3]}, "prompt"), ({"min_p": 0.1}, "min_p"),
])
def test_completions_fields_a_translation_cannot_honour_are_400(both: RunningGateway, fields: dict[str, Any],
                                                                 param: str) -> None:
    body = {"model": "gemini/gemini-2.5-flash", "prompt": "hi", **fields}
    response = both.http.post("/v1/completions", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert param in response.json()["error"]["message"]


def test_completions_native_forwards_what_translation_refuses(both: RunningGateway, fake_openai: FakeOpenAI) -> None:
    body = {"model": "openai/gpt-3.5-turbo-instruct", "prompt": [1, 2, 3], "echo": True, "logprobs": 1}
    assert both.http.post("/v1/completions", json=body).status_code == 200
    assert fake_openai.last.body == {**body, "model": "gpt-3.5-turbo-instruct"}


def test_chat_forwards_unmodelled_fields_to_openai_format(both: RunningGateway, fake_openai: FakeOpenAI) -> None:
    completion = client(both).chat.completions.create(
        model="openai/gpt-4o-mini", messages=MESSAGES, prompt_cache_key="user-42", safety_identifier="hash-1",
        verbosity="low", extra_body=EXTENSIONS)
    assert completion.choices[0].message.content == "echo: hello there"
    sent = fake_openai.last.body
    assert {k: sent[k] for k in ("prompt_cache_key", "safety_identifier", "verbosity")} == {
        "prompt_cache_key": "user-42", "safety_identifier": "hash-1", "verbosity": "low"}
    assert {k: sent[k] for k in EXTENSIONS} == EXTENSIONS
    both.http.post("/v1/chat/completions", json={"model": "openai/gpt-4o-mini", "messages": MESSAGES,
                                                 **NEW_FIELDS})
    assert {k: fake_openai.last.body[k] for k in NEW_FIELDS} == NEW_FIELDS


@pytest.mark.parametrize("stream", [False, True])
def test_chat_unmodelled_fields_are_400_for_a_translated_provider(both: RunningGateway, fake_gemini: FakeGemini,
                                                                  stream: bool) -> None:
    for fields, param in (({"prompt_cache_key": "k"}, "prompt_cache_key"),
                          ({"safety_identifier": "s"}, "safety_identifier"), ({"verbosity": "low"}, "verbosity"),
                          ({"top_k": 5, "min_p": 0.1}, "min_p")):
        with pytest.raises(openai.BadRequestError) as caught:
            client(both).chat.completions.create(model="gemini/gemini-2.5-flash", messages=MESSAGES, stream=stream,
                                                 extra_body=fields)
        error = caught.value.body
        assert isinstance(error, dict) and error["param"] == param, error
        assert f"'{param}'" in error["message"]
    assert fake_gemini.requests == []


def test_chat_unmodelled_fields_are_dropped_when_allowed(gateway_factory: GatewayFactory,
                                                         fake_gemini: FakeGemini) -> None:
    gw = gateway_factory(env=gemini_env(fake_gemini), drop_unsupported_params=True)
    completion = client(gw).chat.completions.create(
        model="gemini/gemini-2.5-flash", messages=MESSAGES, prompt_cache_key="k", safety_identifier="s",
        verbosity="low", extra_body={"top_k": 5, "min_p": 0.1})
    assert completion.choices[0].message.content == "echo: hello there"
    config = fake_gemini.last.body["generationConfig"]
    assert config["topK"] == 5 and "min_p" not in str(fake_gemini.last.body)
    assert last_record(gw)["metadata"]["dropped_params"] == "min_p,prompt_cache_key,safety_identifier,verbosity"


def test_unknown_fields_inside_messages_stay_refused_for_every_provider(both: RunningGateway) -> None:
    for model in ("openai/gpt-4o-mini", "gemini/gemini-2.5-flash"):
        messages = [{"role": "user", "content": "hi", "cache_control": {"type": "ephemeral"}}]
        response = both.http.post("/v1/chat/completions", json={"model": model, "messages": messages})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "messages[0].cache_control"


def test_overlong_field_names_are_400(both: RunningGateway, fake_openai: FakeOpenAI) -> None:
    body = {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "k" * 257: 1}
    assert both.http.post("/v1/chat/completions", json=body).status_code == 400
    assert fake_openai.requests == []


@pytest.mark.parametrize("given", [[1, 2, 3], [[1, 2], [3]]])
def test_token_array_embeddings_are_forwarded(both: RunningGateway, fake_openai: FakeOpenAI,
                                              given: list[Any]) -> None:
    result = client(both).embeddings.create(model="openai/text-embedding-3-small", input=given,
                                            encoding_format="float")
    assert fake_openai.last.body["input"] == given
    assert len(result.data) == (1 if isinstance(given[0], int) else len(given))
    assert_valid("CreateEmbeddingResponse", result.model_dump(exclude_unset=True))


def test_token_array_embeddings_are_400_for_a_translated_provider(both: RunningGateway,
                                                                   fake_gemini: FakeGemini) -> None:
    response = both.http.post("/v1/embeddings", json={"model": "gemini/text-embedding-004", "input": [[1, 2]]})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input"
    assert fake_gemini.requests == []


def test_bare_name_goes_to_the_default_provider(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                                fake_gemini: FakeGemini) -> None:
    gw = gateway_factory(env={**openai_env(fake_openai), **gemini_env(fake_gemini)}, default_provider="openai")
    completion = client(gw).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.model == "gpt-4o-mini"
    assert fake_openai.last.body["model"] == "gpt-4o-mini"
    assert last_record(gw)["provider"] == "openai"


def test_bare_name_found_in_a_providers_model_list(gateway_factory: GatewayFactory,
                                                   fake_openai: FakeOpenAI) -> None:
    gw = gateway_factory(env=openai_env(fake_openai))
    completion = client(gw).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == "echo: hello there"
    assert fake_openai.last.body["model"] == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError):
        client(gw).chat.completions.create(model="gpt-nobody-lists", messages=MESSAGES)


def test_bare_name_in_a_config_list(gateway_factory: GatewayFactory, fake_gemini: FakeGemini) -> None:
    config = "providers:\n  gemini:\n    models: [gemini-2.5-flash]\n"
    gw = gateway_factory(env=gemini_env(fake_gemini), config=config)
    completion = client(gw).chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES)
    assert completion.choices[0].message.content == "echo: hello there"


def test_a_bare_name_several_providers_list_is_404_naming_them(gateway_factory: GatewayFactory,
                                                               fake_openai: FakeOpenAI,
                                                               fake_gemini: FakeGemini) -> None:
    config = "providers:\n  gemini:\n    models: [gpt-4o-mini]\n"
    gw = gateway_factory(env={**openai_env(fake_openai), **gemini_env(fake_gemini)}, config=config)
    with pytest.raises(openai.NotFoundError) as caught:
        client(gw).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    message = str(caught.value)
    assert "ambiguous" in message and "gemini" in message and "openai" in message
