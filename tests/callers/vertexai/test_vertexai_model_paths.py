"""Client model names in Vertex AI URL paths stay inside the configured project and location."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.callers.model_paths import DOT_SEGMENTS, ONE_SEGMENT, check_targets, embed
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.vertexai_fake import PROJECT, FakeVertex

LOCATION = f"/v1/projects/{PROJECT}/locations/us-central1/"
GOOGLE = LOCATION + "publishers/google/models/"
CASES: dict[str, str | None] = {
    "gemini-2.5-flash": GOOGLE + "gemini-2.5-flash:generateContent",
    "publishers/google/models/gemini-2.5-flash": GOOGLE + "gemini-2.5-flash:generateContent",
    "publishers/meta/models/llama?x": LOCATION + "publishers/meta/models/llama%3Fx:generateContent",
    "endpoints/1234": LOCATION + "endpoints/1234:generateContent",
    "endpoints/12#34": LOCATION + "endpoints/12%2334:generateContent",
    **{name: f"{GOOGLE}{wire}:generateContent" for name, wire in ONE_SEGMENT.items()},
    **dict.fromkeys(DOT_SEGMENTS),
    "projects/other/locations/us-central1/publishers/google/models/m": None,
    "publishers/google/models/..": None,
    "publishers/../models/x": None,
    "publishers/google/tuned/x": None,
    "endpoints/": None,
    "models/x": None,
}


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_vertex: FakeVertex, key_file: Path) -> RunningGateway:
    return gateway_factory(env={"GOOGLE_APPLICATION_CREDENTIALS": str(key_file), "VERTEXAI_PROJECT": PROJECT,
                                "VERTEXAI_LOCATION": "us-central1", "VERTEXAI_BASE_URL": fake_vertex.url})


def test_chat_model_names_are_escaped_or_refused(gw: RunningGateway, fake_vertex: FakeVertex) -> None:
    check_targets(gw, fake_vertex, "vertexai", CASES, ignore=("/token",))


def test_embedding_paths_escape_the_same_way(gw: RunningGateway, fake_vertex: FakeVertex) -> None:
    cases: dict[str, str | None] = {"a?b": GOOGLE + "a%3Fb:predict", "../../x": None, "endpoints/..": None}
    check_targets(gw, fake_vertex, "vertexai", cases, send=embed, ignore=("/token",))
