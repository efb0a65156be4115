"""``/openapi.json`` declares what the inference routes accept: texts or token arrays, rerank documents
with a ``text``, every integer within the range the routes take, OpenAI's ``metadata`` caps,
closed objects (but the chat and completions bodies' top level, open under bounded names), and none
of the catch-all variants that exist only to be refused. Sample bodies
are checked both ways: against the document and against the running gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gateway.app import create_app
from gateway.schemas.openai import INT64_MAX, INT64_MIN
from tests.conftest import RunningGateway, make_settings
from tests.fakes.openai_fake import FakeOpenAI

ROUTES = {"/v1/chat/completions": "ChatCompletionRequest", "/v1/embeddings": "EmbeddingRequest",
          "/v1/rerank": "RerankRequest", "/v1/completions": "CompletionRequest"}
OPEN_OBJECTS = {"RerankDocumentIn", "ChatCompletionRequest", "CompletionRequest"}
"""Objects whose extra fields the routes keep (a rerank document comes back whole; unmodelled
top-level chat and completions fields go to OpenAI-format upstreams)."""


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(make_settings(Path("/nonexistent"))).openapi()


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"].rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    seen: dict[str, Any] = {}
    todo = list(ROUTES.values())
    while todo:
        name = todo.pop()
        if name not in seen:
            seen[name] = schemas[name]
            todo.extend(_refs(schemas[name]))
    return seen


def _nodes(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _nodes(value, f"{where}/{i}")


def test_routes_take_the_declared_bodies(document: dict[str, Any]) -> None:
    for path, name in ROUTES.items():
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{name}"}


def test_every_integer_is_bounded_to_what_the_routes_take(document: dict[str, Any]) -> None:
    def bounded(node: dict[str, Any]) -> bool:
        return bool(node.get("minimum", INT64_MIN - 1) >= INT64_MIN and node.get("maximum", INT64_MAX + 1) <= INT64_MAX)

    unbounded = [f"{name}{where}" for name, schema in _reachable(document).items()
                 for where, node in _nodes(schema, "") if node.get("type") == "integer" and not bounded(node)]
    assert unbounded == []


def test_request_objects_are_closed_and_catch_alls_undeclared(document: dict[str, Any]) -> None:
    reachable = _reachable(document)
    assert not {"OtherMessageIn", "OtherPartIn"} & set(reachable)
    open_objects = {name for name, schema in reachable.items() if schema.get("additionalProperties") is not False}
    assert open_objects == OPEN_OBJECTS


def test_open_bodies_bound_their_field_names(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in ("ChatCompletionRequest", "CompletionRequest"):
        assert schemas[name]["additionalProperties"] is True
        assert schemas[name]["propertyNames"] == {"minLength": 1, "maxLength": 256}


def test_embedding_input_declares_texts_and_token_arrays(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["EmbeddingRequest"]["properties"]
    tokens = {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}, "minItems": 1}
    assert schema["input"]["anyOf"] == [
        {"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2048},
        tokens, {"type": "array", "items": tokens, "minItems": 1, "maxItems": 2048}]
    assert schema["dimensions"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 65536}


def test_rerank_documents_need_text(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    items = schemas["RerankRequest"]["properties"]["documents"]["items"]
    assert items == {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/RerankDocumentIn"}]}
    assert schemas["RerankDocumentIn"]["required"] == ["text"]


def test_metadata_declares_openais_caps(document: dict[str, Any]) -> None:
    metadata = document["components"]["schemas"]["ChatCompletionRequest"]["properties"]["metadata"]["anyOf"][0]
    assert metadata == {"type": "object", "maxProperties": 16, "propertyNames": {"maxLength": 64},
                        "additionalProperties": {"type": "string", "maxLength": 512}}


def test_each_role_declares_the_content_parts_it_takes(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    def part_refs(role: str) -> set[str]:
        return set(_refs(schemas[role]["properties"]["content"]))

    assert part_refs("SystemMessageIn") == part_refs("ToolMessageIn") == {"TextPartIn"}
    assert part_refs("UserMessageIn") == {"TextPartIn", "ImagePartIn"}
    assert part_refs("AssistantMessageIn") == {"TextPartIn", "RefusalPartIn"}


MESSAGES = [{"role": "user", "content": "hi"}]
SAMPLES: list[tuple[str, dict[str, Any], bool]] = [
    ("/v1/embeddings", {"model": "openai/text-embedding-3-small", "input": [1, 2]}, True),
    ("/v1/embeddings", {"model": "openai/text-embedding-3-small", "input": [[1, 2]]}, True),
    ("/v1/embeddings", {"model": "openai/text-embedding-3-small", "input": [[1, -2]]}, False),
    ("/v1/completions", {"model": "openai/gpt-3.5-turbo-instruct", "prompt": "hi", "top_k": 2}, True),
    ("/v1/completions", {"model": "openai/gpt-3.5-turbo-instruct", "prompt": [[1, 2]], "logprobs": 1}, True),
    ("/v1/completions", {"model": "openai/gpt-3.5-turbo-instruct", "prompt": "hi", "logprobs": 6}, False),
    ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "prompt_cache_key": "k"}, True),
    ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "k" * 257: 1}, False),
    ("/v1/embeddings", {"model": "openai/text-embedding-3-small", "input": ["a"], "dimensions": 8}, True),
    ("/v1/embeddings", {"model": "openai/text-embedding-3-small", "input": "a", "dimensions": 70000}, False),
    ("/v1/rerank", {"model": "nosuch/r", "query": "q", "documents": [{}]}, False),
    ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "seed": INT64_MAX}, True),
    ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "max_tokens": INT64_MAX}, True),
    ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "max_tokens": "10"}, False),
    ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": MESSAGES,
                              "metadata": {str(i): "v" for i in range(17)}}, False),
    ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": [
        {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}, *MESSAGES]},
     False),
    ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png", "x": 1}}]}]},
     False),
    ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": [{"role": "function", "content": "x"}]},
     False),
]


def test_document_and_routes_agree_on_samples(document: dict[str, Any], gateway: RunningGateway,
                                              fake_openai: FakeOpenAI) -> None:
    disagreements = []
    for path, body, valid in SAMPLES:
        schema = {"$ref": f"#/components/schemas/{ROUTES[path]}", "components": document["components"]}
        declared = Draft202012Validator(schema).is_valid(body)
        status = gateway.http.post(path, json=body).status_code
        if declared != valid or (status == 200) != valid or (not valid and status != 400):
            disagreements.append(f"{path} {body}: declared valid={declared}, answered {status}")
    assert disagreements == []
