"""Every preset takes the model in the body only: its upstream path is fixed whatever the model."""

from __future__ import annotations

import pytest

from gateway.callers.openai_compatible import PROFILES, Profile
from tests.callers.model_paths import ATTACK, ONE_SEGMENT, check_fixed_path, embed
from tests.callers.openai_compatible.support import prefix, start_preset
from tests.conftest import GatewayFactory
from tests.fakes.openai_compatible_fake import FakeCompatible

NAMES = (ATTACK, "..", "a/../b", *ONE_SEGMENT)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda profile: profile.name)
def test_chat_path_is_fixed_whatever_the_model(gateway_factory: GatewayFactory, fake_compatible: FakeCompatible,
                                               profile: Profile) -> None:
    gw = start_preset(gateway_factory, profile, fake_compatible)
    check_fixed_path(gw, fake_compatible, profile.name, prefix(profile) + "/chat/completions", names=NAMES)
    if profile.embeddings:
        check_fixed_path(gw, fake_compatible, profile.name, prefix(profile) + "/embeddings", send=embed, names=NAMES)
