"""Rows for ``request_records`` written straight to the database (no gateway involved)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from gateway.core.ids import id_floor
from gateway.store.models import RECORDS


def seed_id(n: int, created_at: dt.datetime) -> int:
    """An id minted as the gateway mints them (a snowflake of ``created_at``), unique per ``n``."""
    return id_floor(created_at) + (n % 4096)


def record_row(n: int, created_at: dt.datetime, *, status: str = "SUCCESS", time_taken_ms: float = 10.0,
               first_token_ms: float | None = None, model: str = "openai/gpt-4o-mini", provider: str = "openai",
               input_tokens: int | None = 10, output_tokens: int | None = 5,
               metrics: list[dict[str, str]] | None = None, **columns: Any) -> dict[str, Any]:
    """One ``request_records`` row; ``n`` makes ``id`` and ``request_id`` unique. Cost metrics are
    also written to the cost columns, as the gateway's records have them."""
    row: dict[str, Any] = {
        "id": seed_id(n, created_at), "request_id": f"seed-{n}", "created_at": created_at,
        "endpoint": "chat.completions",
        "provider": provider, "model_requested": model, "model_answered": None, "stream": first_token_ms is not None,
        "status": status, "http_status": 200 if status == "SUCCESS" else 502, "time_taken_ms": time_taken_ms,
        "first_token_ms": first_token_ms, "input_tokens": input_tokens, "output_tokens": output_tokens,
        "total_tokens": None, "error_type": None, "error_message": None, "key_id": None,
        "metadata": {}, "metrics": metrics or [], "cost": None, "input_cost": None, "output_cost": None,
    }
    for metric in metrics or []:
        column = {"COST": "cost", "INPUT_COST": "input_cost", "OUTPUT_COST": "output_cost"}.get(metric["name"])
        if column is not None:
            row[column] = Decimal(metric["value"])
    row.update(columns)
    return row


def cost_metrics(cost: str, input_cost: str = "0.5") -> list[dict[str, str]]:
    """Metrics as the cost change writes them: ``INPUT_COST`` must never be summed as ``COST``."""
    return [{"name": "INPUT_COST", "value": input_cost, "description": "input cost"},
            {"name": "COST", "value": cost, "description": "total cost"}]


def insert(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` in one executemany."""
    with engine.begin() as connection:
        connection.execute(RECORDS.insert(), list(rows))
