"""``gateway config check``: validate the config file and say what is wrong, and where.

Beyond the schema (which ``load_config`` enforces, naming file and path), it checks that
every provider named is registered, every fallback resolves, every alias parameter is a
``model.*`` key its provider honours, and every provider in use has its credentials.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from gateway.callers.base import Credential, ProviderSpec
from gateway.callers.registry import Registry, load_registry
from gateway.cli_keys import CliError
from gateway.cli_ops import cli_timeouts, missing_hint
from gateway.config import ConfigError, GatewayConfig, ModelAlias, load_config
from gateway.core import params as p
from gateway.service.routing import Router, env_credential
from gateway.settings import Settings


def _credential(spec: ProviderSpec, config: GatewayConfig, env: Mapping[str, str]) -> Credential:
    provider_config = config.providers.get(spec.name)
    extra = Credential(provider_config.credential) if provider_config else Credential()
    return env_credential(spec, env).merged(extra)


def _needs(spec: ProviderSpec, credential: Credential, where: str) -> Iterator[str]:
    missing = spec.missing_credentials(credential)
    if missing:
        keys = ", ".join(missing)
        yield f"{where}: missing credential '{keys}' for provider '{spec.name}' ({missing_hint(spec, credential)})"


def _honoured(spec: ProviderSpec) -> frozenset[str]:
    return spec.chat_parameters | spec.embedding_parameters | spec.rerank_parameters | {p.NAME}


def _fallback_problems(alias: ModelAlias, where: str, config: GatewayConfig, registry: Registry,
                       env: Mapping[str, str]) -> Iterator[str]:
    for j, name in enumerate(alias.fallbacks):
        if config.alias(name) is not None:
            continue
        provider, sep, upstream = name.partition("/")
        if not sep or not provider or not upstream:
            yield f"{where}.fallbacks.{j}: '{name}' is neither a model alias nor 'provider/upstream-model'"
        elif provider not in registry:
            yield f"{where}.fallbacks.{j}: unknown provider '{provider}' in '{name}'"
        else:
            spec = registry.get(provider)
            yield from _needs(spec, _credential(spec, config, env), f"{where}.fallbacks.{j}")


def _alias_problems(i: int, alias: ModelAlias, config: GatewayConfig, registry: Registry,
                    env: Mapping[str, str]) -> Iterator[str]:
    where = f"models.{i} ({alias.name})"
    if alias.provider not in registry:
        yield f"{where}.model: unknown provider '{alias.provider}' (registered: {', '.join(registry.names())})"
    else:
        spec = registry.get(alias.provider)
        honoured = _honoured(spec)
        for key in alias.parameters:
            if key not in honoured:
                yield f"{where}.parameters: '{key}' is not a parameter provider '{spec.name}' honours"
        credential = _credential(spec, config, env).merged(Credential(alias.credential))
        yield from _needs(spec, credential, where)
    yield from _fallback_problems(alias, where, config, registry, env)


def config_problems(config: GatewayConfig, registry: Registry, env: Mapping[str, str]) -> list[str]:
    """Every problem found, each naming its place in the file (without the file name)."""
    problems: list[str] = []
    for name, provider_config in config.providers.items():
        if name not in registry:
            problems.append(f"providers.{name}: unknown provider (registered: {', '.join(registry.names())})")
        elif provider_config.models:
            spec = registry.get(name)
            problems.extend(_needs(spec, _credential(spec, config, env), f"providers.{name}.models"))
    for i, alias in enumerate(config.models):
        problems.extend(_alias_problems(i, alias, config, registry, env))
    return list(dict.fromkeys(problems))


def _check(settings: Settings, args: argparse.Namespace) -> int:
    path: Path | None = Path(args.file) if args.file else settings.config
    if path is None:
        raise CliError("no config file to check: set GATEWAY_CONFIG or pass --file PATH")
    env = settings.env()
    config = load_config(path, env)
    registry = load_registry()
    problems = config_problems(config, registry, env)
    if not problems:
        try:
            Router(registry, config, env, cli_timeouts(settings))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
        return 2
    providers = {name for name in config.providers} | {alias.provider for alias in config.models}
    print(f"ok: {len(config.models)} aliases, {len(providers)} providers")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = commands.add_parser("config", help="configuration file tools")
    sub = config.add_subparsers(dest="config_command", required=True)
    check = sub.add_parser("check", help="validate the config file and report every problem")
    check.add_argument("--file", help="the file to check (default: GATEWAY_CONFIG)")
    check.set_defaults(handler=_check)
