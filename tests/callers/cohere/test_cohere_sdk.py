"""The official ``cohere`` SDK (ClientV2) against the fake: proves the fake speaks Cohere's real format."""

from __future__ import annotations

import cohere
import pytest

from tests.fakes.cohere_fake import VALID_KEY, FakeCohere

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:cohere.*")


@pytest.fixture
def client(fake_cohere: FakeCohere) -> cohere.ClientV2:
    return cohere.ClientV2(api_key=VALID_KEY, base_url=fake_cohere.url, max_retries=0, timeout=10)


def test_sdk_chat(client: cohere.ClientV2, fake_cohere: FakeCohere) -> None:
    response = client.chat(model="command-a-03-2025", messages=[cohere.UserChatMessageV2(content="hi there")])
    assert fake_cohere.last.path == "/v2/chat"
    assert response.finish_reason == "COMPLETE"
    assert response.message.content is not None
    assert response.message.content[0].type == "text"
    assert response.message.content[0].text == "echo: hi there"
    assert response.usage is not None and response.usage.tokens is not None
    assert (response.usage.tokens.input_tokens, response.usage.tokens.output_tokens) == (21, 4)


def test_sdk_chat_stream(client: cohere.ClientV2, caplog: pytest.LogCaptureFixture) -> None:
    events = list(client.chat_stream(model="command-a-03-2025", messages=[cohere.UserChatMessageV2(content="a b")]))
    types = [e.type for e in events]
    assert types[0] == "message-start" and types[-1] == "message-end"
    text = "".join(e.delta.message.content.text  # type: ignore[union-attr, misc]
                   for e in events if e.type == "content-delta")
    assert text == "echo: a b"
    end = events[-1]
    assert end.delta.finish_reason == "COMPLETE"  # type: ignore[union-attr]
    assert end.delta.usage.tokens.output_tokens == 4  # type: ignore[union-attr]
    assert "Skipping SSE event" not in caplog.text


def test_sdk_chat_stream_tool_calls(client: cohere.ClientV2) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    events = list(client.chat_stream(model="command-a-03-2025", messages=[cohere.UserChatMessageV2(content="weather?")],
                                     tools=[tool], tool_choice="REQUIRED"))  # type: ignore[list-item]
    start = next(e for e in events if e.type == "tool-call-start")
    assert start.delta.message.tool_calls.function.name == "get_weather"  # type: ignore[union-attr]
    fragments = [e.delta.message.tool_calls.function.arguments  # type: ignore[union-attr]
                 for e in events if e.type in ("tool-call-start", "tool-call-delta")]
    assert "".join(fragments) == '{"city": "Paris"}'  # type: ignore[arg-type]
    assert events[-1].delta.finish_reason == "TOOL_CALL"  # type: ignore[union-attr]


def test_sdk_embed(client: cohere.ClientV2) -> None:
    response = client.embed(model="embed-v4.0", texts=["one", "two three"], input_type="search_document",
                            embedding_types=["float"], output_dimension=6)
    assert response.embeddings.float_ is not None
    assert [len(v) for v in response.embeddings.float_] == [6, 6]
    assert response.meta is not None and response.meta.billed_units is not None
    assert response.meta.billed_units.input_tokens == 3


def test_sdk_rerank(client: cohere.ClientV2) -> None:
    response = client.rerank(model="rerank-v3.5", query="red apple", documents=["green pear", "red apple pie"],
                             top_n=1)
    assert [(r.index, r.relevance_score) for r in response.results] == [(1, 1.0)]


def test_sdk_models_list_and_auth_error(client: cohere.ClientV2, fake_cohere: FakeCohere) -> None:
    models = client.models.list()
    assert models.models[0].name == "command-a-03-2025"
    bad = cohere.ClientV2(api_key="wrong", base_url=fake_cohere.url, max_retries=0)
    with pytest.raises(cohere.UnauthorizedError) as caught:
        bad.models.list()
    assert caught.value.body == {"id": "err-1", "message": "invalid api token"}
