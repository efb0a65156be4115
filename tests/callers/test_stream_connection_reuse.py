"""Sequential streams reuse one upstream connection, for every provider that streams.

Each case runs four streams, one after the other, through the provider's caller on the shared
transport (``GatewayTransport``) against the provider's fake, and checks that the fake saw every
request arrive from the same client port: the relay read each body to its end, so the
connection went back to the pool instead of being dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.callers.anthropic import PROVIDERS as ANTHROPIC
from gateway.callers.azure import PROVIDERS as AZURE
from gateway.callers.base import (
    CallerContext,
    ChatCompletionOptions,
    Credential,
    LargeLanguageCaller,
    ProviderSpec,
    RequestContext,
)
from gateway.callers.cohere import PROVIDERS as COHERE
from gateway.callers.gemini import PROVIDERS as GEMINI
from gateway.callers.huggingface import PROVIDERS as HUGGINGFACE
from gateway.callers.minimax import PROVIDERS as MINIMAX
from gateway.callers.mistral import PROVIDERS as MISTRAL
from gateway.callers.openai import PROVIDERS as OPENAI
from gateway.callers.openai_compatible import PROVIDERS as COMPATIBLE
from gateway.callers.replicate.llm import ReplicateLargeLanguageCaller
from gateway.callers.transport import GatewayTransport
from gateway.callers.vertexai import PROVIDERS as VERTEXAI
from gateway.core.messages import Message, TextPart, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd, TextDelta
from tests.callers.vertexai.conftest import service_account_info
from tests.fakes.anthropic_fake import VALID_KEY as ANTHROPIC_KEY
from tests.fakes.anthropic_fake import FakeAnthropic
from tests.fakes.azure_fake import FakeAzureOpenAI
from tests.fakes.cohere_fake import VALID_KEY as COHERE_KEY
from tests.fakes.cohere_fake import FakeCohere
from tests.fakes.gemini_fake import VALID_KEY as GEMINI_KEY
from tests.fakes.gemini_fake import FakeGemini
from tests.fakes.huggingface_fake import VALID_TOKEN as HF_TOKEN
from tests.fakes.huggingface_fake import FakeHuggingFace
from tests.fakes.minimax_fake import VALID_KEY as MINIMAX_KEY
from tests.fakes.minimax_fake import FakeMiniMax
from tests.fakes.mistral_fake import VALID_KEY as MISTRAL_KEY
from tests.fakes.mistral_fake import FakeMistral
from tests.fakes.openai_compatible_fake import FakeCompatible
from tests.fakes.openai_fake import VALID_KEY as OPENAI_KEY
from tests.fakes.openai_fake import FakeOpenAI
from tests.fakes.replicate_fake import VALID_TOKEN as REPLICATE_TOKEN
from tests.fakes.replicate_fake import FakeReplicate
from tests.fakes.server import FakeUpstream
from tests.fakes.vertexai_fake import FakeVertex

MESSAGES: list[Message] = [UserMessage((TextPart("hello there world"),))]
STREAMS = 4


def _spec(specs: tuple[ProviderSpec, ...], name: str) -> ProviderSpec:
    return next(spec for spec in specs if spec.name == name)


@dataclass(frozen=True)
class Case:
    """How to start a provider's fake and build its streaming caller on ``http``."""

    name: str
    model: str
    start: Callable[[], FakeUpstream]
    caller: Callable[[httpx.AsyncClient, FakeUpstream], LargeLanguageCaller]


def _from_spec(spec: ProviderSpec, credential: Callable[[FakeUpstream], dict[str, str]]
               ) -> Callable[[httpx.AsyncClient, FakeUpstream], LargeLanguageCaller]:
    def build(http: httpx.AsyncClient, fake: FakeUpstream) -> LargeLanguageCaller:
        assert spec.llm is not None
        return spec.llm(CallerContext(spec.name, http, Credential(credential(fake))))
    return build


def _replicate(http: httpx.AsyncClient, fake: FakeUpstream) -> LargeLanguageCaller:
    ctx = CallerContext("replicate", http, Credential({"key": REPLICATE_TOKEN, "base_url": fake.url}))
    return ReplicateLargeLanguageCaller(ctx, poll_interval=0.01)


_RSA: list[rsa.RSAPrivateKey] = []


def _rsa() -> rsa.RSAPrivateKey:
    if not _RSA:
        _RSA.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA[0]


def _vertex_credential(fake: FakeUpstream) -> dict[str, str]:
    key = orjson.dumps(service_account_info(_rsa(), fake.url + "/token")).decode()
    return {"service_account_key": key, "base_url": fake.url}


def _start_compatible() -> FakeUpstream:
    return FakeCompatible().start()


CASES = [
    Case("openai", "gpt-4o-mini", lambda: FakeOpenAI().start(),
         _from_spec(_spec(OPENAI, "openai"), lambda f: {"key": OPENAI_KEY, "base_url": f.url + "/v1"})),
    Case("azure", "gpt-4o", lambda: FakeAzureOpenAI().start(),
         _from_spec(_spec(AZURE, "azure"), lambda f: {"subscription_key": OPENAI_KEY, "endpoint": f.url})),
    Case("groq", "llama-3.1-8b-instant", _start_compatible,
         _from_spec(_spec(COMPATIBLE, "groq"), lambda f: {"key": OPENAI_KEY, "base_url": f.url + "/openai/v1"})),
    Case("anthropic", "claude-sonnet-4-6", lambda: FakeAnthropic().start(),
         _from_spec(_spec(ANTHROPIC, "anthropic"), lambda f: {"key": ANTHROPIC_KEY, "base_url": f.url})),
    Case("cohere", "command-a-03-2025", lambda: FakeCohere().start(),
         _from_spec(_spec(COHERE, "cohere"), lambda f: {"key": COHERE_KEY, "base_url": f.url})),
    Case("gemini", "gemini-2.5-flash", lambda: FakeGemini().start(),
         _from_spec(_spec(GEMINI, "gemini"), lambda f: {"key": GEMINI_KEY, "base_url": f.url})),
    Case("vertexai", "gemini-2.5-flash", lambda: FakeVertex(_rsa().public_key()).start(),
         _from_spec(_spec(VERTEXAI, "vertexai"), _vertex_credential)),
    Case("mistral", "mistral-small-latest", lambda: FakeMistral().start(),
         _from_spec(_spec(MISTRAL, "mistral"), lambda f: {"key": MISTRAL_KEY, "base_url": f.url})),
    Case("minimax", "MiniMax-M2", lambda: FakeMiniMax().start(),
         _from_spec(_spec(MINIMAX, "minimax"), lambda f: {"key": MINIMAX_KEY, "base_url": f.url + "/v1"})),
    Case("huggingface", "meta-llama/Llama-3.1-8B-Instruct:fastest", lambda: FakeHuggingFace().start(),
         _from_spec(_spec(HUGGINGFACE, "huggingface"), lambda f: {"key": HF_TOKEN, "base_url": f.url + "/v1"})),
    Case("replicate", "meta/meta-llama-3-8b-instruct", lambda: FakeReplicate().start(), _replicate),
]


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> Iterator[tuple[Case, FakeUpstream]]:
    chosen: Case = request.param
    fake = chosen.start()
    yield chosen, fake
    fake.stop()


async def test_four_sequential_streams_use_one_upstream_connection(case: tuple[Case, FakeUpstream]) -> None:
    chosen, fake = case
    transport = GatewayTransport(httpx.Limits(max_connections=8, max_keepalive_connections=8))
    async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(10.0)) as http:
        caller = chosen.caller(http, fake)
        options = ChatCompletionOptions(RequestContext("req_1"), ModelParameters({"model.name": chosen.model}))
        for _ in range(STREAMS):
            events = [event async for event in caller.stream_chat_completion(MESSAGES, options)]
            assert isinstance(events[-1], StreamEnd)
            assert "".join(e.text for e in events if isinstance(e, TextDelta)) == events[-1].result.choices[0].content
        ports = [request.client_port for request in fake.requests]
        assert len(ports) >= STREAMS
        assert len(set(ports)) == 1, f"{chosen.name}: {len(set(ports))} connections for {STREAMS} sequential streams"
        assert transport.open_connections(fake.url) == 1
