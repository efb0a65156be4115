"""The official ``openai`` SDK's Azure client parses the fake's answers: the fake speaks Azure's format."""

from __future__ import annotations

from openai import AzureOpenAI, OpenAI

from tests.fakes.azure_fake import FakeAzureOpenAI
from tests.fakes.openai_fake import VALID_KEY


def azure_client(fake: FakeAzureOpenAI) -> AzureOpenAI:
    return AzureOpenAI(api_key=VALID_KEY, azure_endpoint=fake.url, api_version="2024-10-21", max_retries=0)


def test_azure_sdk_chat_stream_and_embeddings(fake_azure: FakeAzureOpenAI) -> None:
    client = azure_client(fake_azure)
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "echo: hi" and reply.usage is not None
    assert reply.usage.prompt_tokens == 11
    sent = fake_azure.last
    assert (sent.path, sent.query, sent.headers["api-key"]) == (
        "/openai/deployments/gpt-4o/chat/completions", {"api-version": "2024-10-21"}, VALID_KEY)

    chunks = list(client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "a b"}],
                                                 stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices == [] and chunks[0].model_extra is not None
    assert "prompt_filter_results" in chunks[0].model_extra
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: a b"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3

    vectors = client.embeddings.create(model="te3", input=["x", "y"], dimensions=5)
    assert [len(d.embedding) for d in vectors.data] == [5, 5]
    assert fake_azure.last.path == "/openai/deployments/te3/embeddings"


def test_openai_sdk_on_the_v1_path(fake_azure: FakeAzureOpenAI) -> None:
    client = OpenAI(base_url=fake_azure.url + "/openai/v1", api_key=VALID_KEY, max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "echo: hi"
    sent = fake_azure.last
    assert (sent.path, sent.query, sent.headers["authorization"]) == ("/openai/v1/chat/completions", {},
                                                                      f"Bearer {VALID_KEY}")
    assert [m.id for m in client.models.list()] == ["gpt-4o-mini"]
