"""Times one request and turns its outcome into exactly one ``RequestRecord``."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from gateway.core.metrics import STATUS_CANCELLED, STATUS_FAILED, STATUS_SUCCESS, build_metrics, cost_metrics
from gateway.core.results import ChatResult, Usage
from gateway.core.secret_forms import all_forms
from gateway.errors import GatewayError
from gateway.service.capture import BodyCapture
from gateway.service.pricing import PriceTable
from gateway.store.journal import CheckpointSink
from gateway.store.records import Attempt, RecordSink, RequestRecord

CLIENT_CLOSED_REQUEST = 499
CHECKPOINT_SECONDS = 0.5
"""How often a stream in flight journals what it has (at its first delta, then at most this often)."""


@dataclass(slots=True)
class Timing:
    """Shared by the middleware and the service: when the request arrived and how long
    was spent waiting on providers (the gateway's own overhead is the difference), and
    what the access log names: the model as requested and the provider last tried (the
    one whose answer, or failure, the client got), once the service knows them."""

    started_ns: int = field(default_factory=time.perf_counter_ns)
    upstream_ns: int = 0
    backoff_ns: int = 0
    model: str | None = None
    provider: str | None = None
    attempts: int = 0
    """Provider attempts made for this request (retries and fallbacks included)."""
    recorded: bool = False
    """Whether the service took the request, and with it the duty to leave its record."""

    def overhead_ms(self) -> float:
        """Time so far less the time spent waiting on providers and sleeping between retries."""
        return max(0, time.perf_counter_ns() - self.started_ns - self.upstream_ns - self.backoff_ns) / 1e6

    async def back_off(self, seconds: float) -> None:
        """Sleep ``seconds`` before a retry; the sleep is not the gateway's overhead."""
        started = time.perf_counter_ns()
        try:
            await asyncio.sleep(seconds)
        finally:
            self.backoff_ns += time.perf_counter_ns() - started


@dataclass(slots=True)
class CallInfo:
    """What the API layer knows about a request before any provider is involved.

    ``input_estimate`` is the prompt's estimated tokens (``gateway.service.estimate``): the input a
    record counts when the request ended after the provider read the prompt but before it reported
    usage."""

    request_id: str
    endpoint: str
    started_ns: int = field(default_factory=time.perf_counter_ns)
    metadata: dict[str, Any] = field(default_factory=dict)
    key_id: str | None = None
    allowed_models: frozenset[str] | None = None
    on_record: Callable[[RequestRecord], None] | None = None
    timing: Timing = field(default_factory=Timing)
    input_estimate: int | None = None


@functools.cache
def _keeps_checkpoints(kind: type) -> bool:
    return issubclass(kind, CheckpointSink)


class Tracker:
    """Collects timing and outcome; ``succeed``/``fail``/``cancel`` emit the record once.

    Whichever of them runs first wins; later calls are ignored, so a ``finally``
    block can always call ``cancel()`` safely. The record is submitted before the
    caller sends the response's last bytes. When the sink keeps checkpoints
    (``CheckpointSink``), a stream hands it, at its first delta and then at most every
    ``CHECKPOINT_SECONDS``, the CANCELLED record it would leave if the process died.
    """

    def __init__(self, sink: RecordSink, info: CallInfo, llm_request_id: int, model: str | None,
                 stream: bool = False, prices: PriceTable | None = None) -> None:
        self._sink = sink
        self._prices = prices
        self.upstream_model: str | None = None
        self.info = info
        self.llm_request_id = llm_request_id
        self.model_requested = model
        self.stream = stream
        self.provider: str | None = None
        self.model_answered: str | None = None
        self.first_token_ns: int | None = None
        self.deltas = 0
        self.secrets: list[str] = []
        self.attempts: list[Attempt] = []
        self.capture: BodyCapture | None = None
        self.done = False
        self.created_at = dt.datetime.now(dt.UTC)
        self._checkpoints = cast(CheckpointSink, sink) if _keeps_checkpoints(type(sink)) else None
        self._checkpoint_due = 0.0
        self.finish_reason: str | None = None
        info.timing.recorded = True

    def bind(self, provider: str, model: str, secrets: list[str]) -> None:
        """The deployment now being tried."""
        self.provider, self.model_answered, self.secrets = provider, model, secrets
        self.upstream_model = model

    def mark_delta(self) -> None:
        """A text or tool-call delta reached the client's stream."""
        self.deltas += 1
        if self.first_token_ns is None:
            self.first_token_ns = time.perf_counter_ns() - self.info.started_ns
        if self._checkpoints is not None and time.monotonic() >= self._checkpoint_due:
            self._checkpoint(self._checkpoints)

    def _checkpoint(self, sink: CheckpointSink) -> None:
        if self.done:
            return
        self._checkpoint_due = time.monotonic() + CHECKPOINT_SECONDS
        sink.checkpoint(self._record(STATUS_CANCELLED, CLIENT_CLOSED_REQUEST, self._partial_usage(True), "cancelled",
                                     "The gateway stopped before the response completed."))

    def note(self, values: Mapping[str, Any]) -> None:
        self.info.metadata.update(values)

    def succeed(self, usage: Usage, model_answered: str | None = None, http_status: int = 200) -> None:
        self.model_answered = model_answered or self.model_answered
        self._emit(STATUS_SUCCESS, http_status, usage)

    def succeed_chat(self, result: ChatResult) -> None:
        """``succeed`` for a completion; the record keeps the first choice's finish reason and, in
        its metadata, the provider's id for the answer (``provider_request_id``), to find it in the
        provider's own logs."""
        self.finish_reason = result.choices[0].finish_reason if result.choices else None
        if result.provider_request_id:
            self.note({"provider_request_id": result.provider_request_id})
        self.succeed(result.usage, result.model)

    def refuse(self, http_status: int, error_type: str | None, message: str | None) -> None:
        """Record a request the API refused before it reached the service (no provider was tried)."""
        self._emit(STATUS_FAILED, http_status, Usage(), error_type, message)

    def fail(self, error: GatewayError) -> None:
        """Record the failure; first removes credential values the provider echoed into the message
        (the same error object then reaches the client, so it is scrubbed there too)."""
        error.message = self.scrub(error.message)
        self._emit(STATUS_FAILED, error.status, self._partial_usage(self.deltas > 0), error.error_type,
                   error.message)

    def cancel(self) -> None:
        """The client went away; the output delivered so far is counted, and the estimated prompt
        once a provider was being tried."""
        self._emit(STATUS_CANCELLED, CLIENT_CLOSED_REQUEST, self._partial_usage(self.provider is not None),
                   "cancelled",
                   "The client closed the connection before the response completed.")

    def scrub(self, text: str) -> str:
        """``text`` without the credential values of the deployment being tried, in any form an
        upstream may echo them in (``gateway.core.secret_forms``: as is, URL-encoded, base64)."""
        for form in all_forms(self.secrets, 4):
            if form in text:
                text = text.replace(form, "***")
        return text

    def _attach_bodies(self, record: RequestRecord) -> None:
        """The captured provider bodies (already redacted), when body capture is on."""
        if self.capture is not None:
            record.request_body, record.response_body = self.capture.request, self.capture.response

    def _partial_usage(self, prompt_read: bool) -> Usage:
        """The deltas delivered so far as output and, if ``prompt_read``, ``info.input_estimate`` as
        input (no caller reports a stream's input before its end)."""
        return Usage(input_tokens=self.info.input_estimate if prompt_read else None, output_tokens=self.deltas or None)

    def _add_cost(self, record: RequestRecord, usage: Usage) -> None:
        """Price the usage (model as answered, then as requested upstream); unknown -> no cost."""
        if self._prices is None:
            return
        models = (record.model_answered, self.upstream_model, self.model_requested)
        cost = self._prices.cost(record.provider, models, usage)
        if cost is not None:
            record.input_cost, record.output_cost, record.cost = cost.input, cost.output, cost.total
            record.metrics.extend(cost_metrics(cost.input, cost.output, cost.total))

    def _emit(self, status: str, http_status: int, usage: Usage, error_type: str | None = None,
              error_message: str | None = None) -> None:
        if self.done:
            return
        self.done = True
        record = self._record(status, http_status, usage, error_type, error_message)
        self._sink.submit(record)
        if self.info.on_record is not None:
            self.info.on_record(record)

    def _record(self, status: str, http_status: int, usage: Usage, error_type: str | None,
                error_message: str | None) -> RequestRecord:
        elapsed = time.perf_counter_ns() - self.info.started_ns
        metrics = build_metrics(
            llm_request_id=self.llm_request_id, status=status, time_taken_ns=elapsed, usage=usage,
            first_token_ns=self.first_token_ns, output_estimated=status != STATUS_SUCCESS and bool(self.deltas),
            input_estimated=status != STATUS_SUCCESS and usage.input_tokens is not None,
        )
        record = RequestRecord(
            id=self.llm_request_id, request_id=self.info.request_id, created_at=self.created_at,
            endpoint=self.info.endpoint, provider=self.provider, model_requested=self.model_requested,
            model_answered=self.model_answered, stream=self.stream, status=status, http_status=http_status,
            time_taken_ms=elapsed / 1e6, metrics=metrics, metadata=dict(self.info.metadata),
            error_type=error_type, error_message=error_message, input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens, total_tokens=usage.total,
            first_token_ms=self.first_token_ns / 1e6 if self.first_token_ns is not None else None,
            key_id=self.info.key_id, attempts=self.attempts, finish_reason=self.finish_reason,
        )
        self._add_cost(record, usage)
        self._attach_bodies(record)
        return record
