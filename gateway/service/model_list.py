"""The upstream half of ``GET /v1/models``: each configured provider's own model list, cached.

A provider is asked when it declares a list call (``ProviderSpec.models``), its required
credentials are present and it has at least one credential value (a key or a base URL), so a
keyless local-server preset nobody pointed anywhere is not asked. Providers are asked
concurrently, each bounded by ``timeout`` seconds. A list is kept ``ttl`` seconds; a provider that
fails or does not answer in time is left out, logged at WARNING, and asked again after
``retry_after`` seconds (at most ``ttl``), so a model picker waits on it at most once per interval.
Concurrent requests share one refresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from gateway.callers.base import CallerContext, ModelLister, ProviderSpec, Timeouts
from gateway.core.results import ListedModel
from gateway.errors import GatewayError
from gateway.service.routing import Router

log = logging.getLogger("gateway.models")


@dataclass(frozen=True, slots=True)
class UpstreamModel:
    """A model as ``/v1/models`` shows it: ``provider/upstream id``, the provider, and when the
    upstream says it was created (``None``: not said)."""

    id: str
    provider: str
    created: int | None


@dataclass(frozen=True, slots=True)
class _Entry:
    models: tuple[ListedModel, ...]
    expires: float


class ModelCatalog:
    """The configured providers' upstream models; ``models()`` never raises for a provider's failure."""

    def __init__(self, router: Router, http: httpx.AsyncClient, *, ttl: float = 300.0, timeout: float = 5.0,
                 retry_after: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._router = router
        self._http = http
        self._ttl = ttl
        self._timeout = timeout
        self._retry_after = min(retry_after, ttl)
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = asyncio.Lock()

    def providers(self) -> list[ProviderSpec]:
        """The providers whose lists are fetched, in registry order."""
        listed = []
        for spec in self._router.registry:
            credential = self._router.credential(spec.name)
            if spec.models is not None and credential and spec.is_configured(credential):
                listed.append(spec)
        return listed

    async def models(self) -> list[UpstreamModel]:
        """Every listed provider's models, provider by provider in registry order."""
        specs = self.providers()
        async with self._lock:
            now = self._clock()
            stale = [spec for spec in specs if self._expired(spec.name, now)]
            answers = await asyncio.gather(*(self._fetch(spec) for spec in stale))
            for spec, answer in zip(stale, answers, strict=True):
                lifetime = self._ttl if answer is not None else self._retry_after
                self._entries[spec.name] = _Entry(answer or (), now + lifetime)
            entries = {spec.name: self._entries[spec.name] for spec in specs}
        return [UpstreamModel(f"{name}/{model.id}", name, model.created)
                for name, entry in entries.items() for model in entry.models]

    def _expired(self, provider: str, now: float) -> bool:
        entry = self._entries.get(provider)
        return entry is None or entry.expires <= now

    def _context(self, spec: ProviderSpec) -> CallerContext:
        bound = self._timeout
        timeouts = Timeouts(connect=bound, read=bound, total=bound, stream_idle=bound)
        return CallerContext(spec.name, self._http, self._router.credential(spec.name), timeouts)

    async def _fetch(self, spec: ProviderSpec) -> tuple[ListedModel, ...] | None:
        """The provider's list, or ``None`` (logged) when it fails or takes longer than ``timeout``."""
        factory: Callable[[CallerContext], ModelLister] | None = spec.models
        if factory is None:
            return ()
        try:
            async with asyncio.timeout(self._timeout):
                listed: Sequence[ListedModel] = await factory(self._context(spec)).list_models()
        except GatewayError as exc:
            log.warning("models: left %s out of /v1/models: %s", spec.name, exc.message)
        except TimeoutError:
            log.warning("models: left %s out of /v1/models: no answer within %g s", spec.name, self._timeout)
        except Exception as exc:
            log.warning("models: left %s out of /v1/models: %s", spec.name, type(exc).__name__)
        else:
            return tuple(listed)
        return None
