"""Replicate answers with ``urls`` the caller follows with the token attached: it follows them
only on the provider's own hosts, so an upstream (or anything in between) cannot make the
gateway send the operator's token elsewhere."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.callers.replicate.response import _trusted
from gateway.errors import UpstreamError
from tests.callers.replicate.test_replicate_caller import MESSAGES, caller, chat_options, collect
from tests.fakes.openai_fake import FakeOpenAI
from tests.fakes.replicate_fake import FakeReplicate
from tests.fakes.server import Scripted


@pytest.fixture
def elsewhere() -> Iterator[FakeOpenAI]:
    """Any other server: it records whatever reaches it."""
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.mark.parametrize("kind", ["get", "stream"])
async def test_urls_on_another_host_are_not_followed(http: httpx.AsyncClient, fake_replicate: FakeReplicate,
                                                     elsewhere: FakeOpenAI, kind: str) -> None:
    prediction = fake_replicate.prediction(status="starting", stream=kind == "stream")
    prediction["urls"][kind] = f"{elsewhere.url}/v1/predictions/p1"
    fake_replicate.enqueue(Scripted(status=201, json=prediction))
    with pytest.raises(UpstreamError) as caught:
        if kind == "stream":
            await collect(caller(http, fake_replicate).stream_chat_completion(MESSAGES, chat_options()))
        else:
            await caller(http, fake_replicate).get_chat_completion(MESSAGES, chat_options())
    assert caught.value.code == "untrusted_upstream_url"
    assert elsewhere.wire == []


@pytest.mark.parametrize(("url", "trusted"), [
    ("https://api.replicate.com/v1/predictions/x", True),
    ("https://stream.replicate.com/v1/files/x", True),
    ("http://stream.replicate.com/v1/files/x", False),
    ("https://replicate.com.evil.example/v1", False),
    ("https://evilreplicate.com/v1", False),
    ("https://api.replicate.com:8443/v1", False),
    ("file:///etc/passwd", False),
])
def test_the_provider_s_own_hosts(url: str, trusted: bool) -> None:
    assert _trusted(url, "https://api.replicate.com") is trusted
