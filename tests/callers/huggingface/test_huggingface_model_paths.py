"""Client model names in Hugging Face feature-extraction paths stay ``models/[org/]name``; chat
sends the model in the body, under a fixed path."""

from __future__ import annotations

import pytest

from tests.callers.model_paths import DOT_SEGMENTS, ONE_SEGMENT, SLASHED, check_fixed_path, check_targets, embed
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.huggingface_fake import VALID_TOKEN, FakeHuggingFace

FEATURES = "/hf-inference/models/{}/pipeline/feature-extraction"
CASES: dict[str, str | None] = {
    "sentence-transformers/all-MiniLM-L6-v2": FEATURES.format("sentence-transformers/all-MiniLM-L6-v2"),
    "bert-base-uncased": FEATURES.format("bert-base-uncased"),
    **{name: FEATURES.format(wire) for name, wire in ONE_SEGMENT.items()},
    **{name: FEATURES.format(wire) for name, wire in SLASHED.items()},
    **dict.fromkeys(DOT_SEGMENTS),
    "org/model/extra": None,
    "org/..": None,
}


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_hf: FakeHuggingFace) -> RunningGateway:
    return gateway_factory(env={"HF_TOKEN": VALID_TOKEN, "HUGGINGFACE_BASE_URL": fake_hf.url}, max_retries=0)


def test_embedding_model_names_are_escaped_or_refused(gw: RunningGateway, fake_hf: FakeHuggingFace) -> None:
    check_targets(gw, fake_hf, "huggingface", CASES, send=embed)


def test_chat_path_is_fixed_whatever_the_model(gw: RunningGateway, fake_hf: FakeHuggingFace) -> None:
    check_fixed_path(gw, fake_hf, "huggingface", "/v1/chat/completions")
