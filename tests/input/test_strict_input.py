"""Loose input is refused as OpenAI refuses it: ``metadata`` within OpenAI's caps, strictly typed
numbers and booleans, no unknown fields in nested objects (for every provider; unknown top-level
fields, under bounded names, go unchanged to OpenAI-format upstreams), bounded ``dimensions``; a wrong method
is a 405 with ``Allow``; compressed bodies are a 415. Each refusal is a 400-class OpenAI envelope
naming the problem, before any upstream call."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import GatewayFactory, RunningGateway, make_settings
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI
from tests.input.test_bad_input import JSON, chat, refused

EMBED = "openai/text-embedding-3-small"
RERANK_PATH = "/v1/rerank"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, fake: FakeOpenAI) -> Iterator[RunningGateway]:
    """One gateway for the module; each test starts with an empty upstream log."""
    env = {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}
    gateway = RunningGateway(make_settings(tmp_path_factory.mktemp("strict"), env))
    yield gateway
    gateway.stop()


@pytest.fixture(autouse=True)
def _fresh_log(fake: FakeOpenAI) -> None:
    fake.requests.clear()


def embed(gw: RunningGateway, **body: Any) -> httpx.Response:
    return gw.http.post("/v1/embeddings", json={"model": EMBED, "input": "hi", **body})


def rerank(gw: RunningGateway, **body: Any) -> httpx.Response:
    return gw.http.post(RERANK_PATH, json={"model": "nosuch/rerank", "query": "q", "documents": ["a"], **body})


@pytest.mark.parametrize(("metadata", "param", "says"), [
    ({str(i): "v" for i in range(17)}, "metadata", "at most 16 items"),
    ({str(i): "v" for i in range(10_000)}, "metadata", "at most 16 items"),
    ({"k" * 65: "v"}, "metadata", "a key: String should have at most 64 characters"),
    ({"k": "v" * 513}, "metadata.k", "at most 512 characters"),
    ({"k": 5}, "metadata.k", "valid string"),
    ({"k": {"nested": "x"}}, "metadata.k", "valid string"),
    ("tags", "metadata", "valid dictionary"),
])
def test_metadata_beyond_openais_caps_is_400(gw: RunningGateway, fake: FakeOpenAI, metadata: Any,
                                             param: str, says: str) -> None:
    before = len(gw.records())
    refused(chat(gw, metadata=metadata), 400, param=param, says=says)
    assert fake.requests == []
    records = gw.records()
    assert len(records) == before + 1, "the refusal is recorded"
    refusal = records[0]
    assert (refusal["status"], refusal["http_status"]) == ("FAILED", 400)
    assert not [k for k in refusal["metadata"] if k.startswith("metadata.")], "the refused metadata is not stored"


def test_metadata_at_the_caps_is_kept(gw: RunningGateway, fake: FakeOpenAI) -> None:
    metadata = {f"{i:02d}" + "k" * 62: "v" * 512 for i in range(16)}
    assert chat(gw, metadata=metadata).status_code == 200
    assert fake.last.body["metadata"] == metadata
    record = gw.records()[0]
    assert {k: v for k, v in record["metadata"].items() if k.startswith("metadata.")} == {
        f"metadata.{k}": v for k, v in metadata.items()}


@pytest.mark.parametrize(("field", "value", "says"), [
    ("max_tokens", "10", "valid integer"),
    ("max_tokens", 10.0, "valid integer"),
    ("max_tokens", 10.5, "valid integer"),
    ("max_tokens", True, "valid integer"),
    ("max_completion_tokens", "10", "valid integer"),
    ("n", "1", "valid integer"),
    ("seed", "7", "valid integer"),
    ("seed", 7.0, "valid integer"),
    ("top_logprobs", "2", "valid integer"),
    ("temperature", "0.5", "valid number"),
    ("temperature", True, "valid number"),
    ("top_p", "1", "valid number"),
    ("stream", "true", "valid boolean"),
    ("stream", 1, "valid boolean"),
    ("logprobs", 0, "valid boolean"),
    ("parallel_tool_calls", "false", "valid boolean"),
    ("store", "yes", "valid boolean"),
    ("max_tokens", 2**63 - 1, None),
])
def test_chat_numbers_and_booleans_are_strict(gw: RunningGateway, fake: FakeOpenAI, field: str,
                                              value: Any, says: str | None) -> None:
    response = chat(gw, **{field: value})
    if says is None:
        assert response.status_code == 200, response.text
        return
    refused(response, 400, param=field, says=says)
    assert fake.requests == []


def test_integers_count_as_numbers(gw: RunningGateway, fake: FakeOpenAI) -> None:
    assert chat(gw, temperature=1, top_p=1, frequency_penalty=0, max_tokens=10).status_code == 200
    assert fake.last.body["temperature"] == 1


@pytest.mark.parametrize(("send", "field", "value", "says"), [
    (embed, "dimensions", "64", "valid integer"),
    (embed, "dimensions", 64.0, "valid integer"),
    (embed, "dimensions", 0, "greater than or equal to 1"),
    (embed, "dimensions", 65537, "less than or equal to 65536"),
    (embed, "dimensions", 2**62, "less than or equal to 65536"),
    (rerank, "top_n", "1", "valid integer"),
    (rerank, "top_n", 0, "greater than or equal to 1"),
    (rerank, "return_documents", "true", "valid boolean"),
])
def test_embedding_and_rerank_fields_are_strict_and_bounded(gw: RunningGateway, fake: FakeOpenAI,
                                                            send: Any, field: str, value: Any, says: str) -> None:
    refused(send(gw, **{field: value}), 400, param=field, says=says)
    assert fake.requests == []


def test_dimensions_within_bounds_are_forwarded(gw: RunningGateway, fake: FakeOpenAI) -> None:
    assert embed(gw, dimensions=8).status_code == 200
    assert fake.last.body["dimensions"] == 8


IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


UNMODELLED = {"prompt_cache_key": "k", "safety_identifier": "s", "verbosity": "low", "top_k": 5, "min_p": 0.1,
              "repetition_penalty": 1.1, "chat_template_kwargs": {"enable_thinking": False},
              "prediction": {"type": "content", "content": "x"}, "web_search_options": {}, "functions": [],
              "k" * 256: [1, {"nested": None}]}


def test_unmodelled_top_level_fields_reach_openai_format_upstreams_unchanged(gw: RunningGateway,
                                                                            fake: FakeOpenAI) -> None:
    """The top level is open for OpenAI-format upstreams (translated providers refuse such fields by
    name, or drop them: ``tests/integration/test_openai_clients.py``); nested objects stay closed."""
    assert chat(gw, **UNMODELLED).status_code == 200
    assert {k: fake.last.body[k] for k in UNMODELLED} == UNMODELLED


def test_unmodelled_field_names_are_bounded(gw: RunningGateway, fake: FakeOpenAI) -> None:
    refused(chat(gw, **{"k" * 257: 1}), 400, says="1 to 256 characters")
    refused(chat(gw, **{"": 1}), 400, says="1 to 256 characters")
    assert fake.requests == []


@pytest.mark.parametrize(("message", "param"), [
    ({"role": "user", "content": [{**IMAGE, "image_url": {"url": "https://x/y.png", "fetch": "internal"}}]},
     "messages[0].content[0].image_url.fetch"),
    ({"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]},
     "messages[0].content[0].cache_control"),
    ({"role": "user", "content": [{"type": "text", "text": "a"}, {**IMAGE, "extra": 1}]},
     "messages[0].content[1].extra"),
    ({"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "x": 1,
                                           "function": {"name": "f", "arguments": "{}"}}]},
     "messages[0].tool_calls[0].x"),
    ({"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                                           "function": {"name": "f", "arguments": "{}", "strict": True}}]},
     "messages[0].tool_calls[0].function.strict"),
])
def test_unknown_fields_in_nested_objects_are_400_naming_them(gw: RunningGateway, fake: FakeOpenAI,
                                                              message: dict[str, Any], param: str) -> None:
    messages = [message] if message["role"] == "user" else [{"role": "user", "content": "q"}, message]
    if message["role"] != "user":
        param = param.replace("messages[0]", "messages[1]")
    refused(chat(gw, messages=messages), 400, param=param, says="Unrecognized request argument")
    assert fake.requests == []


@pytest.mark.parametrize(("body", "param"), [
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "x": 1}}]},
     "tools[0].function.x"),
    ({"tools": [{"type": "function", "y": 2, "function": {"name": "f"}}]}, "tools[0].y"),
    ({"stream": True, "stream_options": {"include_usage": True, "chunk": 1}}, "stream_options.chunk"),
    ({"response_format": {"type": "json_object", "strict": True}}, "response_format.strict"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": {"type": "function", "function": {"name": "f", "why": "x"}}}, "tool_choice.function.why"),
])
def test_unknown_fields_in_nested_options_are_400_naming_them(gw: RunningGateway, fake: FakeOpenAI,
                                                              body: dict[str, Any], param: str) -> None:
    refused(chat(gw, **body), 400, param=param, says="Unrecognized request argument")
    assert fake.requests == []


def test_image_url_with_known_fields_passes(gw: RunningGateway, fake: FakeOpenAI) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}
    response = chat(gw, messages=[{"role": "user", "content": [{"type": "text", "text": "what?"}, image]}])
    assert response.status_code == 200, response.text
    assert fake.last.body["messages"][0]["content"][1] == image


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2], [3]]])
def test_token_array_embeddings_reach_openai_format_upstreams(gw: RunningGateway, fake: FakeOpenAI,
                                                              tokens: list[Any]) -> None:
    assert embed(gw, input=tokens).status_code == 200
    assert fake.last.body["input"] == tokens


@pytest.mark.parametrize(("body", "param", "says"), [
    ({"input": [[]]}, "input", "at least 1 item"),
    ({"input": [-1]}, "input", "greater than or equal to 0"),
    ({"input": [1, "a"]}, "input", "valid"),
    ({"input": []}, "input", "at least 1 item"),
    ({"input": ["x"] * 2049}, "input", "at most 2048 items"),
])
def test_embedding_input_outside_the_document_is_400(gw: RunningGateway, fake: FakeOpenAI,
                                                     body: dict[str, Any], param: str, says: str) -> None:
    refused(embed(gw, **body), 400, param=param, says=says)
    assert fake.requests == []


@pytest.mark.parametrize(("documents", "param", "says"), [
    ([{}], "documents[0]", "'documents[0].text': Field required"),
    ([{"text": 5}], "documents[0]", "'documents[0].text': Input should be a valid string"),
    (["a", 5], "documents[1]", "Input should be a valid string"),
])
def test_rerank_documents_outside_the_document_are_400(gw: RunningGateway, documents: list[Any],
                                                       param: str, says: str) -> None:
    refused(rerank(gw, documents=documents), 400, param=param, says=says)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings", "/v1/rerank"])
def test_wrong_method_is_405_with_allow(gw: RunningGateway, fake: FakeOpenAI, path: str) -> None:
    for method in ("PUT", "PATCH", "DELETE", "GET"):
        for content in (None, b"", b"not json", b'{"model": "m"}'):
            response = gw.http.request(method, path, content=content, headers=JSON if content else {})
            refused(response, 405, code="method_not_allowed",
                    says=f"Method {method} is not allowed on {path}; allowed: POST, OPTIONS.")
            assert response.headers["allow"] == "POST, OPTIONS"
    assert fake.requests == []


def test_wrong_method_comes_before_size_and_media_checks(gateway_factory: GatewayFactory,
                                                         fake: FakeOpenAI) -> None:
    small = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"},
                            max_body_bytes=4096)
    big = b"{" + b" " * 10_000 + b"}"
    response = small.http.put("/v1/chat/completions", content=big, headers={"content-type": "text/plain"})
    refused(response, 405, code="method_not_allowed")


@pytest.mark.parametrize(("path", "allow"), [
    ("/v1/chat/completions", "POST, OPTIONS"),
    ("/v1/keys", "GET, POST, OPTIONS"),
    ("/v1/models", "GET, OPTIONS"),
    ("/healthz", "GET, OPTIONS"),
])
def test_options_answers_allow(gw: RunningGateway, path: str, allow: str) -> None:
    response = gw.http.options(path)
    assert response.status_code == 204, response.text
    assert response.headers["allow"] == allow
    assert response.content == b""
    if path != "/v1/chat/completions":
        assert gw.http.request("PATCH", path).headers["allow"] == allow


def test_unknown_paths_stay_404_whatever_the_method(gw: RunningGateway) -> None:
    for method in ("GET", "PUT", "OPTIONS", "POST"):
        refused(gw.http.request(method, "/v1/nosuch", content=b"{}", headers=JSON), 404)


def _bomb() -> bytes:
    """About 20 kB on the wire, 20 MB once inflated."""
    return gzip.compress(b'{"model": "openai/gpt-4o-mini", "messages": [], "x": "' + b"0" * 20_000_000 + b'"}')


@pytest.mark.parametrize(("encoding", "content"), [
    ("gzip", gzip.compress(b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}')),
    ("deflate", zlib.compress(b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}')),
    ("br", b"\x0b\x01\x80{}\x03"),
    ("GZIP", _bomb()),
    ("gzip, identity", b"{}"),
], ids=["gzip", "deflate", "br", "gzip-bomb", "gzip-then-identity"])
def test_compressed_bodies_are_415_naming_the_encoding(gw: RunningGateway, fake: FakeOpenAI,
                                                       encoding: str, content: bytes) -> None:
    headers = {**JSON, "content-encoding": encoding}
    response = gw.http.post("/v1/chat/completions", content=content, headers=headers)
    refused(response, 415, code="unsupported_content_encoding", says=f"'Content-Encoding: {encoding}'")
    assert fake.requests == []


def test_identity_encoding_is_accepted(gw: RunningGateway) -> None:
    body = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
    response = gw.http.post("/v1/chat/completions", content=body, headers={**JSON, "content-encoding": "identity"})
    assert response.status_code == 200, response.text

