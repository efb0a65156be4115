"""The official ``huggingface_hub`` client against the fake: proof the fake speaks
the real formats (the SDK parses every answer into its typed objects)."""

from __future__ import annotations

import pytest
from huggingface_hub import ChatCompletionInputStreamOptions, HfApi, InferenceClient
from huggingface_hub.errors import HfHubHTTPError

from tests.fakes.huggingface_fake import VALID_TOKEN, FakeHuggingFace

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
MESSAGES = [{"role": "user", "content": "hi there"}]


def test_sdk_chat_completion(fake_hf: FakeHuggingFace) -> None:
    client = InferenceClient(base_url=fake_hf.url + "/v1", api_key=VALID_TOKEN)
    out = client.chat_completion(MESSAGES, model=MODEL, max_tokens=20)
    assert out.choices[0].message.content == "echo: hi there"
    assert out.choices[0].finish_reason == "stop"
    assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (11, 7)
    sent = fake_hf.last
    assert (sent.path, sent.headers["authorization"]) == ("/v1/chat/completions", f"Bearer {VALID_TOKEN}")
    assert sent.body["max_tokens"] == 20  # the router's name for the limit, as our caller sends it


def test_sdk_chat_completion_stream(fake_hf: FakeHuggingFace) -> None:
    client = InferenceClient(base_url=fake_hf.url + "/v1", api_key=VALID_TOKEN)
    chunks = list(client.chat_completion(MESSAGES, model=MODEL, stream=True,
                                         stream_options=ChatCompletionInputStreamOptions(include_usage=True)))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hi there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_sdk_feature_extraction(fake_hf: FakeHuggingFace) -> None:
    url = fake_hf.url + "/hf-inference/models/BAAI/bge-small-en-v1.5/pipeline/feature-extraction"
    client = InferenceClient(model=url, api_key=VALID_TOKEN)
    vectors = client.feature_extraction(["a", "b c"], normalize=True)
    assert vectors.shape == (2, 8)
    assert fake_hf.last.body == {"inputs": ["a", "b c"], "normalize": True}


def test_sdk_whoami(fake_hf: FakeHuggingFace) -> None:
    assert HfApi(endpoint=fake_hf.url, token=VALID_TOKEN).whoami()["name"] == "gateway-tester"
    assert fake_hf.last.path == "/api/whoami-v2"
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=fake_hf.url, token="hf_bad").whoami()
