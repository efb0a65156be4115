"""Anthropic takes the model in the body only: the upstream path is fixed whatever the model."""

from __future__ import annotations

from tests.callers.model_paths import check_fixed_path
from tests.conftest import GatewayFactory
from tests.fakes.anthropic_fake import VALID_KEY, FakeAnthropic


def test_messages_path_is_fixed_whatever_the_model(gateway_factory: GatewayFactory,
                                                   fake_anthropic: FakeAnthropic) -> None:
    gw = gateway_factory(env={"ANTHROPIC_API_KEY": VALID_KEY, "ANTHROPIC_BASE_URL": fake_anthropic.url})
    check_fixed_path(gw, fake_anthropic, "anthropic", "/v1/messages")
