"""``create_app(settings)``: the ASGI application; the lifespan owns shared resources.

The lifespan creates the one ``httpx.AsyncClient`` every caller uses, the
database engine, and the background record writer, and closes them in reverse
order on shutdown (the writer flushes every buffered record first).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from gateway import __version__
from gateway.api.anthropic.errors import AnthropicErrorMiddleware
from gateway.api.auth_middleware import AuthMiddleware
from gateway.api.errors import install_error_handlers
from gateway.api.limits_middleware import BodyLimitMiddleware
from gateway.api.middleware import RequestIdMiddleware
from gateway.api.refusals import RefusalRecorder
from gateway.api.routes import activity, chat, completions, dashboard, embeddings, keys, meta, responses, usage
from gateway.api.routes.messages import router as messages_router
from gateway.api.unhandled import UnhandledErrorMiddleware
from gateway.callers.base import Timeouts
from gateway.callers.registry import Registry, load_registry
from gateway.callers.transport import shared_client
from gateway.config_report import checked_config
from gateway.core.ids import Snowflake
from gateway.logging import install_redaction
from gateway.observability import GatewayMetrics, MetricsSink
from gateway.schemas.responses import install_response_docs
from gateway.service.capture import known_secrets
from gateway.service.gateway import GatewayService, ServiceOptions
from gateway.service.keys import KeyRing
from gateway.service.limits import LocalLimiter, RedisLimiter
from gateway.service.model_list import ModelCatalog
from gateway.service.pricing import PriceTable
from gateway.service.resilience import RetryPolicy
from gateway.service.routing import Router
from gateway.settings import Settings
from gateway.store.db import create_engine_for, ping, run_migrations
from gateway.store.journal import Journal
from gateway.store.keys import KeyStore
from gateway.store.leases import MachineLease
from gateway.store.repository import ActivityRepository
from gateway.store.responses import ResponseStore
from gateway.store.stats import StatsRepository
from gateway.store.usage import UsageRepository
from gateway.store.writer import RecordWriter

log = logging.getLogger("gateway")


def _timeouts(settings: Settings) -> Timeouts:
    return Timeouts(connect=settings.connect_timeout, read=settings.read_timeout, total=settings.total_timeout,
                    stream_idle=settings.stream_idle_timeout)


def _service_options(settings: Settings, prices: PriceTable | None = None) -> ServiceOptions:
    retry = RetryPolicy(settings.max_retries, settings.retry_base_delay, settings.retry_max_delay)
    return ServiceOptions(drop_unsupported_params=settings.drop_unsupported_params, retry=retry,
                          cooldown_failures=settings.cooldown_failures, cooldown_seconds=settings.cooldown_seconds,
                          capture_bodies=settings.capture_bodies, secrets=_master_key(settings),
                          prices=prices, node_id=settings.node_id)


def _machine_lease(settings: Settings, engine: Engine) -> MachineLease | None:
    """A lease on a machine id for this process's record ids, unless ``GATEWAY_NODE_ID`` sets them."""
    if settings.node_id is not None:
        return None
    return MachineLease(engine, Snowflake.for_process(), ttl=settings.machine_lease_seconds)


def _record_writer(settings: Settings, engine: Engine, metrics: GatewayMetrics) -> RecordWriter:
    """The record writer; it journals every record unless ``GATEWAY_JOURNAL=false``."""
    journal = Journal(settings.journal_path(), segment_records=settings.journal_segment_records,
                      fsync_interval=settings.journal_fsync_interval) if settings.journal else None
    return RecordWriter(engine, max_queue=settings.record_queue_size, batch_size=settings.record_batch_size,
                        flush_interval=settings.record_flush_interval, spool_dir=settings.spool_dir, retry_max=5.0,
                        journal=journal, remint=Snowflake.for_process(settings.node_id).at,
                        on_id_conflicts=metrics.id_conflicts.inc)


def _master_key(settings: Settings) -> tuple[str, ...]:
    return (settings.master_key.get_secret_value(),) if settings.master_key else ()


def _freeze_startup_heap() -> None:
    """Move everything allocated while starting (modules, pydantic schemas, the registry) out of
    the garbage collector's reach, so full collections under load scan only request garbage."""
    gc.collect()
    gc.freeze()


_OBSERVED_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/responses",
                             "/v1/embeddings", "/v1/rerank"})


def _overhead_observer(metrics: GatewayMetrics) -> Callable[[str, float], None]:
    def observe(path: str, seconds: float) -> None:
        if path in _OBSERVED_PATHS:
            metrics.overhead.labels(path).observe(seconds)

    return observe


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    """Build the app. Configuration errors (bad config file) raise here, before serving."""
    settings = settings or Settings.load()
    registry = registry or load_registry()
    config = checked_config(settings.config, registry, settings.env())
    router = Router(registry, config, settings.env(), _timeouts(settings), settings.default_provider)
    prices = PriceTable.from_config(config)
    metrics = GatewayMetrics(stats=lambda: getattr(getattr(app.state, "writer", None), "stats", None))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        uninstall_redaction = install_redaction(lambda: known_secrets(router, *_master_key(settings)))
        if settings.migrate_on_start:
            await asyncio.to_thread(run_migrations, settings.database_url)
        engine = create_engine_for(settings.database_url)
        lease = _machine_lease(settings, engine)
        if lease is not None:
            await lease.start()
        writer = _record_writer(settings, engine, metrics)
        await writer.start()
        http = shared_client(settings.upstream_max_connections)
        app.state.writer = writer
        app.state.loop = asyncio.get_running_loop()
        app.state.activity = ActivityRepository(engine)
        app.state.usage = UsageRepository(engine)
        app.state.stats = StatsRepository(engine)
        app.state.db_ping = lambda: ping(engine)
        app.state.models = ModelCatalog(router, http, ttl=settings.models_cache_seconds,
                                        timeout=settings.models_timeout)
        app.state.service = GatewayService(router, http, MetricsSink(writer, metrics),
                                          _service_options(settings, prices), catalog=app.state.models)
        app.state.key_store = KeyStore(engine)
        app.state.responses = ResponseStore(engine)
        keyring = KeyRing(app.state.key_store, app.state.master_key)
        await keyring.start()
        keyring.announce("every caller is anonymous with admin rights (serve on loopback only)")
        app.state.keyring = keyring
        app.state.limiter = RedisLimiter(settings.redis_url) if settings.redis_url else LocalLimiter()
        app.state.background_tasks = set()
        _freeze_startup_heap()
        try:
            yield
        finally:
            await keyring.close()
            await app.state.limiter.close()
            await http.aclose()
            await writer.close()
            if lease is not None:
                await lease.close()
            engine.dispose()
            uninstall_redaction()

    # /docs and /redoc with their scripts served by the gateway itself, not from a CDN
    app = FastAPIOffline(title="gateway", version=__version__, lifespan=lifespan,
                         description="OpenAI-compatible gateway in front of many AI providers.")
    app.state.master_key = settings.master_key.get_secret_value() if settings.master_key else None
    app.state.started_at = int(time.time())
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    install_response_docs(app)
    for module in (chat, completions, embeddings, responses, meta, dashboard, activity, usage):
        app.include_router(module.router)
    app.include_router(meta.protected)
    app.include_router(meta.admin)
    app.include_router(keys.router)
    app.include_router(messages_router)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(AuthMiddleware, state=app.state)
    app.add_middleware(RefusalRecorder, state=app.state)
    app.add_middleware(RequestIdMiddleware, observe_overhead=_overhead_observer(metrics),
                       access_log=settings.access_log)
    app.add_middleware(AnthropicErrorMiddleware)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker process builds its own app)."""
    return create_app(Settings.load())
