"""litellm as a client: ``litellm.completion(model="openai/gpt-4o-mini", api_base=<gateway>/v1)`` strips
its own ``openai/`` and sends the bare ``gpt-4o-mini``, which the gateway resolves through the
providers' model lists (the fake OpenAI upstream lists ``gpt-4o-mini``)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
litellm = pytest.importorskip("litellm")


def test_litellm_completion_with_its_prefix_stripped(gateway_factory: GatewayFactory,
                                                     fake_openai: FakeOpenAI) -> None:
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"})
    response = litellm.completion(model="openai/gpt-4o-mini", api_base=gw.url + "/v1", api_key="anything",
                                  messages=[{"role": "user", "content": "hello there"}], max_retries=0)
    assert response.choices[0].message.content == "echo: hello there"
    chats = [r for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert chats[-1].body["model"] == "gpt-4o-mini"
    record = gw.records()[0]
    assert (record["provider"], record["model_requested"]) == ("openai", "gpt-4o-mini")
