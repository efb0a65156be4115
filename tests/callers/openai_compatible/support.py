"""Helpers shared by the preset tests: where each preset lives on the fake, and its environment."""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway.callers.openai_compatible import PROFILES, Profile
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_compatible_fake import FakeCompatible
from tests.fakes.openai_fake import VALID_KEY


def prefix(profile: Profile) -> str:
    """The path part of the vendor's documented base URL (``/openai/v1``, ``/v1``, ``""``)."""
    return urlsplit(profile.base_url).path.rstrip("/")


def preset_env(profile: Profile, fake: FakeCompatible, key: str | None = None) -> dict[str, str]:
    """Environment pointing ``profile`` at the fake under the vendor's own base path.

    Without ``key``: a keyed preset gets the valid key; a keyless one gets none (and the
    fake accepts requests without ``Authorization``). With ``key``: that key is configured.
    """
    env = {profile.base_url_env: fake.url + prefix(profile)}
    if key is None and not profile.key_required:
        fake.keyless = True
        return env
    env[profile.key_env] = key or VALID_KEY
    return env


def start_preset(factory: GatewayFactory, profile: Profile, fake: FakeCompatible,
                 key: str | None = None) -> RunningGateway:
    """Gateway retries are off, so each scripted upstream error answers exactly one client call."""
    return factory(env=preset_env(profile, fake, key), max_retries=0)


BY_NAME = {profile.name: profile for profile in PROFILES}
