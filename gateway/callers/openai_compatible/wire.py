"""A preset's ``OpenAIWire``: its base URL, ``Bearer`` auth (optional for local servers), path overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.callers.base import Credential
from gateway.callers.http import join_url
from gateway.callers.openai.wire import OpenAIWire, bearer_wire
from gateway.callers.openai_compatible.profiles import Profile


@dataclass(frozen=True, slots=True, repr=False)
class PresetWire(OpenAIWire):
    """An ``OpenAIWire`` whose ``paths`` map an OpenAI path to the vendor's (``models`` -> ``key``)."""

    paths: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        """Names the header keys only: their values are secrets."""
        return f"PresetWire(provider={self.provider!r}, base_url={self.base_url!r}, headers={sorted(self.headers)!r})"

    def url(self, path: str, model: str | None = None) -> str:
        return join_url(self.base_url, self.paths.get(path, path))


def preset_wire(profile: Profile, credential: Credential) -> PresetWire:
    """The wire for ``profile``: ``base_url`` from the credential or the profile's default.

    A keyless profile sends no ``Authorization`` header unless a key is configured;
    a keyed one raises ``AuthenticationError`` when the key is missing.
    """
    wire = bearer_wire(profile.name, credential, profile.base_url, profile.quirks, key_required=profile.key_required)
    return PresetWire(
        provider=wire.provider,
        base_url=wire.base_url,
        headers=wire.headers,
        query=wire.query,
        quirks=wire.quirks,
        paths=profile.paths,
    )
