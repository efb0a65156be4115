"""Client model (deployment) names in Azure URL paths stay one ``deployments/{name}`` segment;
the v1 API sends the model in the body, under a fixed path."""

from __future__ import annotations

from tests.callers.azure.test_e2e import start
from tests.callers.model_paths import ATTACK, ONE_SEGMENT, check_fixed_path, check_targets, embed
from tests.conftest import GatewayFactory
from tests.fakes.azure_fake import FakeAzureOpenAI

CHAT = "/openai/deployments/{}/chat/completions?api-version=2024-10-21"
CASES: dict[str, str | None] = {
    "gpt-4o": CHAT.format("gpt-4o"),
    **{name: CHAT.format(wire) for name, wire in ONE_SEGMENT.items()},
    ATTACK: CHAT.format("x%2F..%2F..%2F..%2F..%2Finternal%2Fsecret%23"),
    "a/b": CHAT.format("a%2Fb"),
    "/a": CHAT.format("%2Fa"),
    "..": None,
    ".": None,
}


def test_deployment_names_are_escaped_or_refused(gateway_factory: GatewayFactory,
                                                 fake_azure: FakeAzureOpenAI) -> None:
    gw = start(gateway_factory, fake_azure)
    check_targets(gw, fake_azure, "azure", CASES)
    embeddings = {"a?b": "/openai/deployments/a%3Fb/embeddings?api-version=2024-10-21", "..": None}
    check_targets(gw, fake_azure, "azure", embeddings, send=embed)


def test_v1_path_is_fixed_whatever_the_model(gateway_factory: GatewayFactory, fake_azure: FakeAzureOpenAI) -> None:
    gw = start(gateway_factory, fake_azure, AZURE_OPENAI_API_VERSION="v1")
    check_fixed_path(gw, fake_azure, "azure", "/openai/v1/chat/completions")
