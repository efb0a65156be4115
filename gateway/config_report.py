"""The complete config report: every problem in a config file, found before anything serves it.

One pass gives the document's own problems (YAML syntax, each entry's schema, unset environment
variables: ``gateway.config.read_config``) and, for every entry that parsed, what only the
provider registry can tell: unknown providers, fallbacks that resolve to nothing, ``model.*``
parameters a provider does not honour, missing credentials. ``gateway config check``,
``gateway serve`` and ``create_app`` all go through ``check_config``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.callers.base import Credential, ProviderSpec, Timeouts
from gateway.callers.registry import Registry
from gateway.cli_ops import missing_hint
from gateway.config import ConfigError, GatewayConfig, ModelAlias, ParsedConfig, read_config
from gateway.config_source import Loc, Problem, did_you_mean, located, report_text
from gateway.core import params as p
from gateway.service.routing import Router, env_credential

log = logging.getLogger("gateway.config")


@dataclass(frozen=True, slots=True)
class ConfigReport:
    """Every problem of the file at ``source``, located and in file order. ``config`` holds the
    entries that parsed; it is the whole config only when ``ok``."""

    source: str
    config: GatewayConfig
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """No problem that stops serving (warnings allowed)."""
        return not any(not problem.warning for problem in self.problems)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.problems if problem.warning)

    def lines(self) -> list[str]:
        """One ``file:line: path: message`` line per problem."""
        return [problem.render(self.source) for problem in self.problems]

    def text(self) -> str:
        """The lines, then ``<source>: N problem(s)``."""
        return report_text(self.source, self.problems)


@dataclass(frozen=True, slots=True)
class _Scope:
    parsed: ParsedConfig
    registry: Registry
    env: Mapping[str, str]
    damaged: frozenset[Loc]
    """The first three parts of every document problem's path (``("models", 2, "credential")``)."""


def _honoured(spec: ProviderSpec) -> frozenset[str]:
    return spec.chat_parameters | spec.embedding_parameters | spec.rerank_parameters | {p.NAME}


def _unknown_provider(name: str, registry: Registry) -> str:
    return f"unknown provider '{name}'" + did_you_mean(name, registry.names(), "registered")


def _in_doubt(scope: _Scope, spec: ProviderSpec, alias_loc: Loc | None) -> bool:
    """Whether a credential the file gives for ``spec`` (or the alias at ``alias_loc``) is faulted
    already, so that a missing credential would only repeat that problem."""
    if spec.name in scope.parsed.providers and spec.name not in scope.parsed.config.providers:
        return True
    faulted = [("providers", spec.name, "credential"), *([(*alias_loc, "credential")] if alias_loc else [])]
    return any(loc in scope.damaged for loc in faulted)


def _needs(scope: _Scope, spec: ProviderSpec, loc: Loc, alias: ModelAlias | None = None,
           subject: str = "") -> Iterator[Problem]:
    """A missing credential for ``spec`` (with ``alias``'s own, whose entry is at ``loc``)."""
    if _in_doubt(scope, spec, loc if alias else None):
        return
    provider_config = scope.parsed.config.providers.get(spec.name)
    credential = env_credential(spec, scope.env).merged(Credential(provider_config.credential if provider_config
                                                                   else {}))
    credential = credential.merged(Credential(alias.credential if alias else {}))
    missing = spec.missing_credentials(credential)
    if missing:
        yield Problem(loc, f"{subject}missing credential '{', '.join(missing)}' for provider '{spec.name}' "
                           f"({missing_hint(spec, credential)}); requests for it fail until it is set",
                      warning=True)


def _provider_problems(scope: _Scope) -> Iterator[Problem]:
    for name in scope.parsed.providers:
        provider_config = scope.parsed.config.providers.get(name)
        if name not in scope.registry:
            yield Problem(("providers", name), _unknown_provider(name, scope.registry))
        elif provider_config is not None and provider_config.models:
            spec = scope.registry.get(name)
            yield from _needs(scope, spec, ("providers", name, "models"))


def _parameter_problems(scope: _Scope, loc: Loc, alias: ModelAlias, spec: ProviderSpec) -> Iterator[Problem]:
    """Alias parameters ``spec`` does not honour; a key no provider knows gets the nearest known one."""
    known = frozenset().union(*(_honoured(other) for other in scope.registry))
    for key in alias.parameters:
        canonical = p.canonical_key(key)
        if canonical in known and canonical not in _honoured(spec):
            yield Problem((*loc, "parameters", key), f"provider '{spec.name}' does not honour this parameter")
        elif canonical not in known:
            yield Problem((*loc, "parameters", key), "unknown parameter" + did_you_mean(key, known))


def _fallback_problems(scope: _Scope, i: int, alias: ModelAlias) -> Iterator[Problem]:
    """Fallbacks that resolve to nothing; one naming an alias whose own entry is faulty is that entry's problem."""
    others = scope.parsed.aliases - {alias.name}
    for j, name in enumerate(alias.fallbacks):
        if name in scope.parsed.aliases:
            continue
        loc: Loc = ("models", i, "fallbacks", j)
        provider, sep, upstream = name.partition("/")
        if not sep or not provider or not upstream:
            yield Problem(loc, f"fallback '{name}' is neither a model alias nor 'provider/upstream-model'"
                               + did_you_mean(name, others, "aliases"))
        elif provider not in scope.registry:
            hint = did_you_mean(name, others) or did_you_mean(provider, scope.registry.names(), "registered")
            yield Problem(loc, f"fallback '{name}': unknown provider '{provider}'{hint}")
        else:
            spec = scope.registry.get(provider)
            yield from _needs(scope, spec, loc, subject=f"fallback '{name}': ")


def _alias_problems(scope: _Scope, i: int, alias: ModelAlias) -> Iterator[Problem]:
    loc: Loc = ("models", i)
    if alias.provider not in scope.registry:
        yield Problem((*loc, "model"), _unknown_provider(alias.provider, scope.registry))
    else:
        spec = scope.registry.get(alias.provider)
        yield from _parameter_problems(scope, loc, alias, spec)
        yield from _needs(scope, spec, loc, alias)
    yield from _fallback_problems(scope, i, alias)


def registry_problems(parsed: ParsedConfig, registry: Registry, env: Mapping[str, str]) -> list[Problem]:
    """What the registry finds wrong with every entry of ``parsed`` that validated (not yet located)."""
    scope = _Scope(parsed, registry, env, frozenset(problem.loc[:3] for problem in parsed.problems))
    problems = list(_provider_problems(scope))
    for i, alias in zip(parsed.alias_index, parsed.config.models, strict=True):
        problems.extend(_alias_problems(scope, i, alias))
    return problems


def _router_problems(config: GatewayConfig, registry: Registry, env: Mapping[str, str]) -> list[Problem]:
    try:
        Router(registry, config, env, Timeouts())
    except ConfigError as exc:
        return [Problem((), str(exc))]
    return []


def check_config(path: Path | None, registry: Registry, env: Mapping[str, str]) -> ConfigReport:
    """The complete report for the file at ``path`` (``None``: no file, nothing wrong). Never raises
    for what is wrong with the file; the router the server would build is tried last."""
    if path is None:
        return ConfigReport("config", GatewayConfig(), ())
    parsed = read_config(path, env)
    problems = [*parsed.problems, *registry_problems(parsed, registry, env)]
    if all(problem.warning for problem in problems):
        problems += _router_problems(parsed.config, registry, env)
    return ConfigReport(parsed.source, parsed.config, tuple(located(problems, parsed.node)))


def checked_config(path: Path | None, registry: Registry, env: Mapping[str, str]) -> GatewayConfig:
    """The config at ``path``; raises ``ConfigError`` carrying the whole report if anything stops it
    from serving, and logs each warning otherwise."""
    report = check_config(path, registry, env)
    if not report.ok:
        raise ConfigError(report.text())
    for warning in report.warnings:
        log.warning("%s", warning.render(report.source))
    return report.config
