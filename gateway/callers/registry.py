"""The provider registry: a dict filled by the provider packages.

Each provider package exposes ``PROVIDERS``, a sequence of ``ProviderSpec``.
Built-in packages are listed in ``BUILTIN_PROVIDERS`` - adding a provider is a
new package under ``gateway/callers/`` plus one line there. Third-party
packages register through the same hook: an entry point in the
``gateway.providers`` group naming a module that exposes ``PROVIDERS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Sequence
from importlib.metadata import entry_points

from gateway.callers.base import ProviderSpec
from gateway.errors import NotFoundError

BUILTIN_PROVIDERS: tuple[str, ...] = (
    "gateway.callers.openai",
    "gateway.callers.anthropic",
    "gateway.callers.azure",
    "gateway.callers.openai_compatible",
    "gateway.callers.huggingface",
    "gateway.callers.replicate",
    "gateway.callers.cohere",
    "gateway.callers.voyageai",
    "gateway.callers.gemini",
    "gateway.callers.vertexai",
    "gateway.callers.mistral",
    "gateway.callers.minimax",
)

ENTRY_POINT_GROUP = "gateway.providers"


class Registry:
    """Provider name -> ``ProviderSpec``. Dispatch is a lookup, never a branch."""

    def __init__(self, specs: Iterable[ProviderSpec] = ()) -> None:
        self._specs: dict[str, ProviderSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ProviderSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"provider {spec.name!r} is registered twice")
        self._specs[spec.name] = spec

    def get(self, name: str) -> ProviderSpec:
        spec = self._specs.get(name)
        if spec is None:
            raise NotFoundError(
                f"Unknown provider '{name}'. Registered providers: {', '.join(sorted(self._specs))}.",
                code="provider_not_found",
                param="model",
            )
        return spec

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ProviderSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: s.name))

    def names(self) -> list[str]:
        return sorted(self._specs)


def _specs_of(module_name: str) -> Sequence[ProviderSpec]:
    module = importlib.import_module(module_name)
    specs: Sequence[ProviderSpec] = module.PROVIDERS
    return specs


def load_registry(modules: Iterable[str] = BUILTIN_PROVIDERS, *, plugins: bool = True) -> Registry:
    """Build a registry from the built-in packages and, if ``plugins``, entry points."""
    registry = Registry()
    names = list(modules)
    if plugins:
        names.extend(ep.value for ep in entry_points(group=ENTRY_POINT_GROUP))
    for name in names:
        for spec in _specs_of(name):
            registry.register(spec)
    return registry
