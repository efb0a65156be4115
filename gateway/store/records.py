"""The record of one request, as the service layer hands it to the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from gateway.core.metrics import Metric


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at one deployment, as stored in ``request_attempts``."""

    number: int
    provider: str
    model: str
    status: str
    http_status: int | None
    time_taken_ms: float
    error_type: str | None = None
    error_message: str | None = None


@dataclass(slots=True)
class RequestRecord:
    """One row per request. ``id`` is the snowflake ``LLM_REQUEST_ID``;
    ``request_id`` is the ``x-request-id`` the client saw (possibly its own)."""

    id: int
    request_id: str
    created_at: dt.datetime
    endpoint: str
    provider: str | None
    model_requested: str | None
    model_answered: str | None
    stream: bool
    status: str
    http_status: int
    time_taken_ms: float
    metrics: list[Metric]
    metadata: dict[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    error_message: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    first_token_ms: float | None = None
    key_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    input_cost: Decimal | None = None
    output_cost: Decimal | None = None
    cost: Decimal | None = None
    request_body: Any = None
    response_body: Any = None
    finish_reason: str | None = None
    """Why the completion ended (``stop``, ``length``, ``tool_calls``, ``content_filter``), else ``None``;
    stored in the ``metadata`` column under ``finish_reason``, and read back from there."""

    def as_row(self) -> dict[str, Any]:
        """Column values for the ``request_records`` table."""
        return {
            "id": self.id,
            "request_id": self.request_id,
            "created_at": self.created_at,
            "endpoint": self.endpoint,
            "provider": self.provider,
            "model_requested": self.model_requested,
            "model_answered": self.model_answered,
            "stream": self.stream,
            "status": self.status,
            "http_status": self.http_status,
            "time_taken_ms": self.time_taken_ms,
            "first_token_ms": self.first_token_ms,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "key_id": self.key_id,
            "input_cost": self.input_cost,
            "output_cost": self.output_cost,
            "cost": self.cost,
            "request_body": self.request_body,
            "response_body": self.response_body,
            "metadata": self._stored_metadata(),
            "metrics": [m.as_dict() for m in self.metrics],
        }

    def _stored_metadata(self) -> dict[str, Any]:
        if self.finish_reason is None:
            return self.metadata
        return {**self.metadata, "finish_reason": self.finish_reason}

    def attempt_rows(self) -> list[dict[str, Any]]:
        """Rows for ``request_attempts``: written only when the request took more than one attempt."""
        if len(self.attempts) < 2:
            return []
        return [
            {
                "record_id": self.id,
                "attempt": a.number,
                "provider": a.provider,
                "model": a.model,
                "status": a.status,
                "http_status": a.http_status,
                "error_type": a.error_type,
                "error_message": a.error_message,
                "time_taken_ms": a.time_taken_ms,
            }
            for a in self.attempts
        ]


class RecordSink(Protocol):
    def submit(self, record: RequestRecord) -> None:
        """Hand a finished record over; never blocks and never raises."""
        ...
