"""Bad input is refused clearly: a 4xx OpenAI error envelope naming the problem, never a 500,
and nothing reaches the upstream."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI
from tests.openapi import assert_valid

MODEL = "openai/gpt-4o-mini"
MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
JSON = {"content-type": "application/json"}
LIMIT = 4096


@pytest.fixture
def small(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    """A gateway whose body limit is ``LIMIT`` bytes."""
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                           max_body_bytes=LIMIT)


def refused(response: httpx.Response, status: int, *, param: str | None = None, code: str | None = None,
            says: str = "") -> dict[str, Any]:
    """Assert an OpenAI error envelope with ``status``; returns its ``error`` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-request-id")
    body = response.json()
    assert_valid("ErrorResponse", body)
    error: dict[str, Any] = body["error"]
    assert error["type"] == ("not_found_error" if status == 404 else "invalid_request_error")
    if param is not None:
        assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert says in error["message"], error["message"]
    return error


def chat(gw: RunningGateway, **body: Any) -> httpx.Response:
    return gw.http.post("/v1/chat/completions", json={"model": MODEL, "messages": MESSAGES, **body})


def test_declared_oversized_body_is_413(small: RunningGateway, fake_openai: FakeOpenAI) -> None:
    big = {"model": MODEL, "messages": [{"role": "user", "content": "x" * LIMIT}]}
    refused(small.http.post("/v1/chat/completions", json=big), 413, code="request_too_large",
            says=f"larger than the limit of {LIMIT} bytes")
    assert chat(small).status_code == 200
    assert len(fake_openai.requests) == 1


def test_streamed_oversized_body_is_413(small: RunningGateway, fake_openai: FakeOpenAI) -> None:
    def chunks(total: int) -> Iterator[bytes]:
        yield b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "'
        for _ in range(total // 512):
            yield b"y" * 512
        yield b'"}]}'

    response = small.http.post("/v1/chat/completions", content=chunks(LIMIT * 4), headers=JSON)
    assert "content-length" not in response.request.headers
    refused(response, 413, code="request_too_large")
    ok = small.http.post("/v1/chat/completions", content=chunks(LIMIT // 2), headers=JSON)
    assert ok.status_code == 200, ok.text
    assert len(fake_openai.requests) == 1


def test_huge_content_length_is_refused_before_the_body_arrives(small: RunningGateway) -> None:
    host, port = small.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: 100000000000\r\n\r\n{")
        head = sock.recv(65536).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head
    assert "request_too_large" in head


@pytest.mark.parametrize(("content", "says", "code"), [
    (b"{not json", "The request body is not valid JSON.", "invalid_json"),
    (b'{"model": "m", "messages": [], "temperature": NaN}', "not valid JSON", "invalid_json"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "\xff\xfe"}]}', "not valid UTF-8", "invalid_utf8"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}', "not valid JSON", "invalid_json"),
    (b"[1, 2]", "must be a JSON object, not an array", "invalid_body"),
    (b'"hello"', "must be a JSON object", "invalid_body"),
    (b"null", "must be a JSON object", "invalid_body"),
    (b"", "The request body is empty", "empty_body"),
    (b'{"model": "m", "messages": [], "seed": 123456789012345678901234567890}', "outside the 64-bit range",
     "integer_out_of_range"),
    (b"[" * 5000 + b"]" * 5000, "not valid JSON", "invalid_json"),
])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings"])
def test_unreadable_bodies(gateway: RunningGateway, fake_openai: FakeOpenAI, path: str, content: bytes, says: str,
                           code: str) -> None:
    refused(gateway.http.post(path, content=content, headers=JSON), 400, code=code, says=says)
    assert fake_openai.requests == []


def test_valid_surrogate_pairs_and_big_digits_in_strings_pass(gateway: RunningGateway) -> None:
    body = b'{"model": "openai/gpt-4o-mini", "seed": 9223372036854775807, "messages": [{"role": "user", ' \
           b'"content": "\\ud83d\\ude00 call 123456789012345678901234567890"}]}'
    response = gateway.http.post("/v1/chat/completions", content=body, headers=JSON)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: \U0001f600 call 123456789012345678901234567890"


@pytest.mark.parametrize(("headers", "says"), [
    ({"content-type": "text/plain"}, "got 'text/plain'"),
    ({"content-type": "application/x-www-form-urlencoded"}, "got 'application/x-www-form-urlencoded'"),
    ({"content-type": "multipart/form-data"}, "got 'multipart/form-data'"),
    ({}, "got no Content-Type"),
])
def test_wrong_content_type_is_415(gateway: RunningGateway, fake_openai: FakeOpenAI, headers: dict[str, str],
                                   says: str) -> None:
    body = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
    response = gateway.http.post("/v1/chat/completions", content=body, headers=headers)
    refused(response, 415, code="unsupported_media_type", says=says)
    assert fake_openai.requests == []


@pytest.mark.parametrize("headers", [{"content-type": "application/json; charset=utf-8"},
                                     {"content-type": "application/vnd.api+json"}])
def test_json_content_types_are_accepted(gateway: RunningGateway, headers: dict[str, str]) -> None:
    body = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
    response = gateway.http.post("/v1/chat/completions", content=body, headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("body", "param", "says"), [
    ({"model": 5}, "model", "valid string"),
    ({"messages": "hi"}, "messages", "valid list"),
    ({"temperature": "hot"}, "temperature", "valid number"),
    ({"messages": []}, "messages", "at least 1"),
    ({"n": 129}, "n", "less than or equal to 128"),
    ({"stream": "maybe"}, "stream", "valid boolean"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role", "not supported"),
    ({"messages": [{"role": "user", "content": "hi", "frobnicate": 1}]}, "messages[0].frobnicate",
     "Unrecognized request argument"),
])
def test_wrong_fields_are_400_naming_the_field(gateway: RunningGateway, body: dict[str, Any], param: str,
                                               says: str) -> None:
    refused(chat(gateway, **body), 400, param=param, says=says)


def test_unknown_model_is_404_naming_it(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    refused(chat(gateway, model="nosuch/model"), 404, param="model", code="model_not_found", says="nosuch/model")
    embedding = gateway.http.post("/v1/embeddings", json={"model": "nosuch/e", "input": "x"})
    refused(embedding, 404, param="model", says="nosuch/e")
    assert fake_openai.requests == []


def _tool(parameters: Any, name: str = "f") -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


GOOD_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.mark.parametrize(("tools", "param", "says"), [
    ([_tool({"type": "object", "properties": {"a": {"type": "nope"}}})], "tools[0].function.parameters",
     "at '/properties/a/type'"),
    ([_tool(GOOD_SCHEMA), _tool({"type": "object", "required": "city"}, "g")], "tools[1].function.parameters",
     "is not of type 'array'"),
    ([_tool({"type": "object", "properties": {"a": {"pattern": "(unclosed"}}})], "tools[0].function.parameters",
     "not a valid JSON Schema"),
    ([_tool({"type": "object", "minProperties": -1})], "tools[0].function.parameters", "minProperties"),
])
def test_invalid_tool_schemas_are_400_naming_the_tool(gateway: RunningGateway, fake_openai: FakeOpenAI,
                                                      tools: list[Any], param: str, says: str) -> None:
    refused(chat(gateway, tools=tools), 400, param=param, code="invalid_json_schema", says=says)
    assert fake_openai.requests == []


def test_valid_tool_schemas_pass_every_time(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    for _ in range(2):
        assert chat(gateway, tools=[_tool(GOOD_SCHEMA)]).status_code == 200
    assert fake_openai.last.body["tools"][0]["function"]["parameters"] == GOOD_SCHEMA


def test_invalid_response_format_schema_is_400(gateway: RunningGateway) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "properties": []}}}
    refused(chat(gateway, response_format=fmt), 400, param="response_format.json_schema.schema",
            code="invalid_json_schema")


def test_refused_bad_input_is_recorded_as_a_client_error(gateway: RunningGateway) -> None:
    """Each refusal leaves a record, and none of them is a server error."""
    chat(gateway, tools=[_tool({"type": "nope"})])
    gateway.http.post("/v1/chat/completions", content=b"\xff", headers=JSON)
    records = gateway.records()
    assert sorted(r["http_status"] for r in records) == [400, 400]
    assert all(r["status"] == "FAILED" and r["endpoint"] == "chat.completions" for r in records)


@pytest.mark.parametrize("path", ["/v1/usage", "/v1/activity/stats", "/v1/activity"])
@pytest.mark.parametrize("bound", ["until=0001-01-01T04:18:08Z", "since=0001-01-01T00:00:00Z",
                                   "until=9999-12-31T23:59:59Z"])
def test_extreme_dates_are_never_a_500(gateway: Any, path: str, bound: str) -> None:
    response = gateway.http.get(f"{path}?{bound}")
    assert response.status_code < 500, response.text
