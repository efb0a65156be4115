"""Prometheus metrics (``GET /metrics``).

Recorded from each finished ``RequestRecord`` (one place, off the request path's
critical section) by ``MetricsSink``, which wraps the record writer, plus the
gateway-overhead histogram observed by the middleware. With several worker
processes, set ``PROMETHEUS_MULTIPROC_DIR`` (``gateway serve`` does it for you):
every worker writes its values there and ``/metrics`` aggregates them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from gateway.store.journal import CheckpointSink
from gateway.store.records import RecordSink, RequestRecord

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
_MAX_MODELS = 500
OTHER = "other"


class GatewayMetrics:
    """The gateway's metrics, in their own registry (never the global one)."""

    def __init__(self, stats: Callable[[], object] | None = None) -> None:
        self.registry = CollectorRegistry()
        self._multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        labels = ["endpoint", "provider", "model", "status"]
        self.requests = Counter("gateway_requests", "Requests served", labels, registry=self.registry)
        self.latency = Histogram("gateway_request_duration_seconds", "Time to serve a request",
                                 ["endpoint", "provider"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.ttft = Histogram("gateway_time_to_first_token_seconds", "Time to the first streamed delta",
                              ["provider"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.overhead = Histogram("gateway_overhead_seconds", "Request time not spent waiting on providers",
                                  ["endpoint"], buckets=_OVERHEAD_BUCKETS, registry=self.registry)
        self.tokens = Counter("gateway_tokens", "Tokens reported by providers", ["provider", "model", "direction"],
                              registry=self.registry)
        mode = {"multiprocess_mode": "livesum"} if self._multiprocess else {}
        self.queue_depth = Gauge("gateway_records_queue_depth", "Records waiting to be written", registry=self.registry,
                                 **mode)  # type: ignore[arg-type]
        self.records_lost = Gauge("gateway_records_dropped", "Records that could not be kept",
                                  registry=self.registry, **mode)  # type: ignore[arg-type]
        self.records_spooled = Gauge("gateway_records_spooled", "Records written to the local spool",
                                     registry=self.registry, **mode)  # type: ignore[arg-type]
        self.id_conflicts = Counter("gateway_records_id_conflicts", "Records written under a new id because a "
                                    "different record had taken theirs", registry=self.registry)
        self._stats = stats
        self._models: set[str] = set()

    def _model(self, model: str | None) -> str:
        """Model label, capped so client-chosen names cannot grow the series without bound."""
        if not model:
            return ""
        if model in self._models or len(self._models) < _MAX_MODELS:
            self._models.add(model)
            return model
        return OTHER

    def observe(self, record: RequestRecord) -> None:
        provider = record.provider or ""
        model = self._model(record.model_requested)
        self.requests.labels(record.endpoint, provider, model, record.status).inc()
        self.latency.labels(record.endpoint, provider).observe(record.time_taken_ms / 1000)
        if record.first_token_ms is not None:
            self.ttft.labels(provider).observe(record.first_token_ms / 1000)
        if record.input_tokens:
            self.tokens.labels(provider, model, "input").inc(record.input_tokens)
        if record.output_tokens:
            self.tokens.labels(provider, model, "output").inc(record.output_tokens)

    def refresh_store_gauges(self) -> None:
        stats = self._stats() if self._stats else None
        if stats is None:
            return
        self.queue_depth.set(getattr(stats, "queue_depth", 0))
        self.records_lost.set(getattr(stats, "dropped", 0))
        self.records_spooled.set(getattr(stats, "spooled", 0))

    def exposition(self) -> bytes:
        self.refresh_store_gauges()
        if self._multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class MetricsSink:
    """A ``RecordSink`` that counts each record in Prometheus, then hands it on."""

    def __init__(self, inner: RecordSink, metrics: GatewayMetrics) -> None:
        self._inner = inner
        self._metrics = metrics
        self._checkpoints = inner if isinstance(inner, CheckpointSink) else None

    def submit(self, record: RequestRecord) -> None:
        try:
            self._metrics.observe(record)
        finally:
            self._inner.submit(record)

    def checkpoint(self, record: RequestRecord) -> None:
        """Hand a stream's checkpoint on (not counted: the stream is not finished)."""
        if self._checkpoints is not None:
            self._checkpoints.checkpoint(record)
