"""``gateway verify PROVIDER`` and ``gateway models``: credentials and reachability.

Both build the same registry and router as the server (environment, ``.env`` and the
config file) and check credentials through ``GatewayService.verify`` (each provider's free
call, with the server's HTTP client and the same scrubbing). A check from the command line is
not a request to the gateway, so it leaves no record (``NotRecorded``). Progress goes to stderr,
results to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.callers.base import Credential, ProviderSpec, Timeouts
from gateway.callers.registry import load_registry
from gateway.callers.transport import shared_client
from gateway.cli_keys import CliError
from gateway.config import load_config
from gateway.errors import GatewayError
from gateway.service.gateway import GatewayService
from gateway.service.routing import Router
from gateway.service.tracking import CallInfo
from gateway.settings import Settings
from gateway.store.records import RequestRecord

CLI_TIMEOUT = 60.0
"""Upper bound, in seconds, on one credential check from the command line."""


@dataclass(frozen=True, slots=True)
class Check:
    """``reachable`` is ``yes`` (credential accepted), ``no`` (refused, or ``error``) or ``unknown``."""

    provider: str
    reachable: str
    detail: str
    error: bool = False


def cli_timeouts(settings: Settings) -> Timeouts:
    return Timeouts(connect=min(settings.connect_timeout, CLI_TIMEOUT), read=min(settings.read_timeout, CLI_TIMEOUT),
                    total=min(settings.total_timeout, CLI_TIMEOUT), stream_idle=settings.stream_idle_timeout)


def build_router(settings: Settings) -> Router:
    """The server's router: registry, config file (``GATEWAY_CONFIG``) and environment."""
    config = load_config(settings.config, settings.env())
    return Router(load_registry(), config, settings.env(), cli_timeouts(settings))


def has_credential(spec: ProviderSpec, credential: Credential) -> bool:
    """Configured: something was set and nothing required is missing."""
    return bool(credential) and spec.is_configured(credential)


def missing_hint(spec: ProviderSpec, credential: Credential) -> str:
    """How to supply what ``credential`` lacks, naming the environment variables."""
    missing = spec.missing_credentials(credential) or list(spec.credential_env)[:1]
    names = [spec.credential_env.get(key, key) for need in missing for key in need.split("|")]
    return f"set {' or '.join(names)}, or providers.{spec.name}.credential in the config file"


class NotRecorded:
    """The record sink of command-line checks: they are not requests to the gateway."""

    def submit(self, record: RequestRecord) -> None:
        del record


CLI_CONNECTIONS = 16
"""Connections per origin for the command line's concurrent checks."""


async def check(service: GatewayService, spec: ProviderSpec, credential: Credential) -> Check:
    """Check ``credential`` with ``spec``'s verifier through the service; never raises for provider errors."""
    if spec.verifier is None:
        return Check(spec.name, "unknown", "the provider has no credential check")
    if not has_credential(spec, credential):
        return Check(spec.name, "unknown", "no credential configured")
    try:
        result = await service.verify(spec.name, credential, CallInfo("gateway-cli", "credentials.verify"))
    except GatewayError as exc:
        return Check(spec.name, "no", f"error: {exc.message}", error=True)
    detail = result.detail.removeprefix(f"{spec.name}: ")
    return Check(spec.name, "yes" if result.valid else "no", detail)


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    router = build_router(settings)
    name: str = args.provider
    if name not in router.registry:
        raise CliError(f"unknown provider '{name}' (registered: {', '.join(router.registry.names())})")
    spec = router.registry.get(name)
    credential = router.credential(name)
    if spec.verifier is None:
        raise CliError(f"{name}: the provider has no credential check")
    if not has_credential(spec, credential):
        raise CliError(f"{name}: no credential configured ({missing_hint(spec, credential)})")
    print(f"checking {name} ...", file=sys.stderr)

    async def run() -> Check:
        async with shared_client(CLI_CONNECTIONS) as http:
            return await check(GatewayService(router, http, NotRecorded()), spec, credential)

    result = asyncio.run(run())
    if result.reachable == "yes":
        print(f"{name}: valid ({result.detail})")
        return 0
    print(f"{name}: {'unreachable' if result.error else 'invalid'}: {result.detail.removeprefix('error: ')}")
    return 1


Target = tuple[str, Credential]


def _targets(router: Router) -> tuple[list[tuple[str, str, Target | None]], list[Target]]:
    """Each public model with the (provider, credential) it uses (``None``: unresolvable),
    and every (provider, credential) to check, configured providers included."""
    rows: list[tuple[str, str, Target | None]] = []
    for model, owner in router.public_models():
        try:
            route = router.resolve(model)
        except GatewayError:
            rows.append((model, owner, None))
            continue
        rows.append((model, route.provider, (route.provider, route.credential)))
    targets = [target for _, _, target in rows if target is not None]
    for spec in router.registry:
        credential = router.credential(spec.name)
        if has_credential(spec, credential):
            targets.append((spec.name, credential))
    return rows, list(dict.fromkeys(targets))


async def _check_all(router: Router, targets: Sequence[Target]) -> dict[Target, Check]:
    print(f"checking {len(targets)} credential(s): {', '.join(p for p, _ in targets)}", file=sys.stderr)
    results: dict[Target, Check] = {}
    async with shared_client(CLI_CONNECTIONS) as http:
        service = GatewayService(router, http, NotRecorded())

        async def one(target: Target) -> None:
            provider, credential = target
            results[target] = await check(service, router.registry.get(provider), credential)
            print(f"  [{len(results)}/{len(targets)}] {provider}: {results[target].reachable}", file=sys.stderr)

        await asyncio.gather(*(one(target) for target in targets))
    return results


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    for line in (headers, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _provider_row(spec: ProviderSpec, credential: Credential,
                  status: Callable[[Target | None], tuple[str, str]]) -> tuple[str, ...]:
    if not has_credential(spec, credential):
        return spec.name, "no", "unknown", missing_hint(spec, credential)
    return spec.name, "yes", *status((spec.name, credential))


def _models(settings: Settings, args: argparse.Namespace) -> int:
    router = build_router(settings)
    rows, targets = _targets(router)
    checks = {} if args.no_check else asyncio.run(_check_all(router, targets))

    def status(target: Target | None) -> tuple[str, str]:
        if target is None:
            return "unknown", "unknown provider"
        found = checks.get(target)
        return (found.reachable, found.detail) if found else ("unknown", "not checked")

    if rows:
        print_table(("MODEL", "PROVIDER", "REACHABLE", "DETAIL"),
                    [(model, provider, *status(target)) for model, provider, target in rows])
    else:
        print("no models configured (aliases under `models:`, or `providers.<name>.models` in the config file)")
    used = {provider for _, provider, target in rows if target is not None}
    providers = [spec for spec in router.registry
                 if spec.name in used or has_credential(spec, router.credential(spec.name))]
    print()
    if providers:
        print_table(("PROVIDER", "CREDENTIAL", "REACHABLE", "DETAIL"),
                    [_provider_row(spec, router.credential(spec.name), status) for spec in providers])
    else:
        print("no provider has credentials configured")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = commands.add_parser("verify", help="check a provider's configured credential (its free call)")
    verify.add_argument("provider", help="provider name, e.g. openai")
    verify.set_defaults(handler=_verify)
    models = commands.add_parser("models", help="configured models and whether their providers are reachable")
    models.add_argument("--no-check", action="store_true", help="list only, do not call the providers")
    models.set_defaults(handler=_models)
