"""Model routing: a public model name -> provider, upstream model, defaults, credential.

``provider/model`` addresses a provider directly; a configured alias wins over
that reading. A bare name (no known provider before a ``/``: clients such as litellm
strip their own ``openai/``) goes, after the aliases, to the default provider when one is
set, else to the provider whose configured ``models`` list names it (the service also asks
the providers' own model lists, see ``GatewayService._bare_routes``); a name several
providers list is a 404 naming them. Resolution is a pure lookup; no branch names a provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from gateway.callers.base import Credential, ProviderSpec, Timeouts
from gateway.callers.registry import Registry
from gateway.config import ConfigError, GatewayConfig, ModelAlias, TimeoutsConfig
from gateway.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class Route:
    public_model: str
    spec: ProviderSpec
    upstream_model: str
    credential: Credential
    timeouts: Timeouts
    parameters: Mapping[str, Any] = field(default_factory=dict)
    alias: str | None = None

    @property
    def provider(self) -> str:
        return self.spec.name

    @property
    def deployment(self) -> tuple[str, str, Credential]:
        """What identifies a deployment for cooldowns: provider, upstream model, credential."""
        return (self.spec.name, self.upstream_model, self.credential)


def env_credential(spec: ProviderSpec, env: Mapping[str, str]) -> Credential:
    """The credential a provider's declared environment variables give."""
    return Credential({key: env[var] for key, var in spec.credential_env.items() if env.get(var)})


def _timeouts(base: Timeouts, override: TimeoutsConfig) -> Timeouts:
    return Timeouts(
        connect=override.connect or base.connect,
        read=override.read or base.read,
        total=override.total or base.total,
        stream_idle=override.stream_idle or base.stream_idle,
    )


class Router:
    """Resolves model names against the registry and the config file."""

    def __init__(
        self, registry: Registry, config: GatewayConfig, env: Mapping[str, str], timeouts: Timeouts,
        default_provider: str | None = None,
    ) -> None:
        if default_provider is not None and default_provider not in registry:
            raise ConfigError(f"GATEWAY_DEFAULT_PROVIDER: unknown provider '{default_provider}'. "
                              f"Known providers: {', '.join(registry.names())}.")
        self._registry = registry
        self._config = config
        self._default = default_provider
        self._credentials: dict[str, Credential] = {}
        self._timeouts: dict[str, Timeouts] = {}
        for spec in registry:
            provider_config = config.providers.get(spec.name)
            credential = env_credential(spec, env)
            if provider_config is not None:
                credential = credential.merged(Credential(provider_config.credential))
                self._timeouts[spec.name] = _timeouts(timeouts, provider_config.timeouts)
            else:
                self._timeouts[spec.name] = timeouts
            self._credentials[spec.name] = credential
        self._cache: dict[str, Route] = {}
        self._chains: dict[str, list[Route]] = {}
        self._check_fallbacks()

    def _check_fallbacks(self) -> None:
        for alias in self._config.models:
            for name in alias.fallbacks:
                try:
                    self._resolve(name)
                except NotFoundError as exc:
                    raise ConfigError(f"models: alias '{alias.name}' has fallback '{name}': {exc.message}") from None

    @property
    def registry(self) -> Registry:
        return self._registry

    @property
    def config(self) -> GatewayConfig:
        return self._config

    def credential(self, provider: str) -> Credential:
        self._registry.get(provider)
        return self._credentials.get(provider, Credential())

    def timeouts(self, provider: str) -> Timeouts:
        return self._timeouts[provider]

    def resolve(self, model: str) -> Route:
        """The route for ``model``; raises ``NotFoundError`` naming what is wrong."""
        route = self._cache.get(model)
        if route is None:
            route = self._resolve(model)
            if len(self._cache) < 4096:
                self._cache[model] = route
        return route

    def chain(self, model: str) -> list[Route]:
        """The route for ``model`` followed by its alias's fallbacks, in order (one level deep:
        a fallback's own fallbacks are not followed, so chains cannot loop)."""
        cached = self._chains.get(model)
        if cached is not None:
            return cached
        routes = [self.resolve(model)]
        alias = self._config.alias(model)
        for name in alias.fallbacks if alias else ():
            route = self.resolve(name)
            if all(route.deployment != r.deployment for r in routes):
                routes.append(route)
        if len(self._chains) < 4096:
            self._chains[model] = routes
        return routes

    def _resolve(self, model: str) -> Route:
        alias = self._config.alias(model)
        if alias is not None:
            return self._alias_route(alias)
        if self.is_bare(model):
            return self.bare_route(model, ())
        provider, _, upstream = model.partition("/")
        spec = self._registry.get(provider)
        return Route(model, spec, upstream, self._credentials[provider], self._timeouts[provider])

    def _unknown(self, model: str) -> NoReturn:
        provider, sep, upstream = model.partition("/")
        if not sep or not upstream:
            raise NotFoundError(
                f"The model '{model}' does not exist. Use 'provider/model' (e.g. 'openai/gpt-4o-mini') "
                "or a model alias from the config file.",
                param="model", code="model_not_found",
            )
        raise NotFoundError(
            f"The model '{model}' does not exist: unknown provider '{provider}'. "
            f"Known providers: {', '.join(self._registry.names())}.",
            param="model", code="model_not_found",
        )

    def is_bare(self, model: str) -> bool:
        """``model`` names no alias and no known provider before a ``/``."""
        provider, sep, upstream = model.partition("/")
        return self._config.alias(model) is None and not (sep and upstream and provider in self._registry)

    def needs_model_lists(self, model: str) -> bool:
        """``model`` is bare, without a ``/``, and no default provider is set: the providers' model lists
        decide. (A name with an unknown provider before a ``/`` is looked up in the config lists only,
        so a mistyped provider costs no upstream call.)"""
        return self._default is None and "/" not in model and self.is_bare(model)

    def bare_route(self, model: str, listed_by: Sequence[str]) -> Route:
        """The route of bare ``model``: the default provider's, else that of the one provider among
        ``listed_by`` and those whose configured ``models`` name it. Raises ``NotFoundError`` when
        none does (saying how to name a model) or several do (naming them)."""
        if self._default is not None:
            return self._route(self._default, model)
        configured = [name for name, provider in self._config.providers.items() if model in provider.models]
        owners = sorted({*configured, *(name for name in listed_by if name in self._registry)})
        if len(owners) == 1:
            return self._route(owners[0], model)
        if owners:
            raise NotFoundError(
                f"The model '{model}' is ambiguous: providers {', '.join(owners)} list it. "
                f"Name one, e.g. '{owners[0]}/{model}'.", param="model", code="model_not_found")
        return self._unknown(model)

    def _route(self, provider: str, upstream: str) -> Route:
        spec = self._registry.get(provider)
        return Route(upstream, spec, upstream, self._credentials[provider], self._timeouts[provider])

    def _alias_route(self, alias: ModelAlias) -> Route:
        if alias.provider not in self._registry:
            raise NotFoundError(
                f"Model alias '{alias.name}' points at unknown provider '{alias.provider}'.",
                param="model", code="model_not_found",
            )
        spec = self._registry.get(alias.provider)
        credential = self._credentials[alias.provider].merged(Credential(alias.credential))
        return Route(alias.name, spec, alias.upstream_model, credential, self._timeouts[alias.provider],
                     alias.parameters, alias.name)

    def public_models(self) -> list[tuple[str, str]]:
        """``(model id, owner)`` pairs for ``/v1/models``: aliases, then listed upstream models."""
        out = [(alias.name, alias.provider) for alias in self._config.models]
        for name, provider_config in sorted(self._config.providers.items()):
            out.extend((f"{name}/{model}", name) for model in provider_config.models)
        return out
