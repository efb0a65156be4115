"""Client model names in Replicate URL paths stay ``/v1/models/{owner}/{name}/predictions``."""

from __future__ import annotations

import pytest

from tests.callers.model_paths import DOT_SEGMENTS, ONE_SEGMENT, SLASHED, check_targets
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.replicate_fake import VALID_TOKEN, FakeReplicate

CREATE = "/v1/models/{}/predictions"
NO_VERSION = {name: wire for name, wire in ONE_SEGMENT.items() if ":" not in name}
"""``:`` starts a version, which goes in the body of ``POST /v1/predictions``."""
CASES: dict[str, str | None] = {
    "meta/meta-llama-3-8b-instruct": CREATE.format("meta/meta-llama-3-8b-instruct"),
    "acme/llm:abc123": "/v1/predictions",
    "acme/llm:../../x?y#z": "/v1/predictions",
    **{f"own/{name}": CREATE.format(f"own/{wire}") for name, wire in NO_VERSION.items()},
    **{f"{name}/m": CREATE.format(f"{wire}/m") for name, wire in NO_VERSION.items()},
    **{name: CREATE.format(wire) for name, wire in SLASHED.items()},
    **dict.fromkeys(DOT_SEGMENTS),
    "own/..:v1": "/v1/predictions",
    "../m": None,
    "a/b/c": None,
    "single": None,
}


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_replicate: FakeReplicate) -> RunningGateway:
    return gateway_factory(env={"REPLICATE_API_TOKEN": VALID_TOKEN, "REPLICATE_BASE_URL": fake_replicate.url},
                           max_retries=0)


def test_model_names_are_escaped_or_refused(gw: RunningGateway, fake_replicate: FakeReplicate) -> None:
    check_targets(gw, fake_replicate, "replicate", CASES, follow_up=("/v1/predictions/",))
