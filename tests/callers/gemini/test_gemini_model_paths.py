"""Client model names in Gemini URL paths stay inside ``/v1beta/{models|tunedModels}/<id>:<method>``."""

from __future__ import annotations

import pytest

from tests.callers.model_paths import DOT_SEGMENTS, ONE_SEGMENT, chat, check_targets, embed
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.gemini_fake import VALID_KEY, FakeGemini

CASES: dict[str, str | None] = {
    "gemini-2.5-flash": "/v1beta/models/gemini-2.5-flash:generateContent",
    "models/gemini-2.5-flash": "/v1beta/models/gemini-2.5-flash:generateContent",
    "tunedModels/my-tune-1": "/v1beta/tunedModels/my-tune-1:generateContent",
    "tunedModels/a?b": "/v1beta/tunedModels/a%3Fb:generateContent",
    "a:streamGenerateContent?alt=sse": "/v1beta/models/a%3AstreamGenerateContent%3Falt%3Dsse:generateContent",
    **{name: f"/v1beta/models/{wire}:generateContent" for name, wire in ONE_SEGMENT.items()},
    **dict.fromkeys(DOT_SEGMENTS),
    "models/..": None,
    "tunedModels/": None,
    "other/x": None,
    "models/a/b": None,
    "cachedContents/x": None,
}


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_gemini: FakeGemini) -> RunningGateway:
    return gateway_factory(env={"GEMINI_API_KEY": VALID_KEY, "GEMINI_BASE_URL": fake_gemini.url})


def test_chat_model_names_are_escaped_or_refused(gw: RunningGateway, fake_gemini: FakeGemini) -> None:
    check_targets(gw, fake_gemini, "gemini", CASES)


def test_stream_and_embedding_paths_escape_the_same_way(gw: RunningGateway, fake_gemini: FakeGemini) -> None:
    cases: dict[str, str | None] = {"a#b": "/v1beta/models/a%23b:streamGenerateContent?alt=sse", "..": None,
                                    "gemini-2.5-flash": "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"}
    check_targets(gw, fake_gemini, "gemini", cases, send=lambda g, m: chat(g, m, stream=True))
    cases = {"a?b": "/v1beta/models/a%3Fb:batchEmbedContents", "models/..": None, "../../x": None}
    check_targets(gw, fake_gemini, "gemini", cases, send=embed)
