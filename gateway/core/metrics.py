"""The seed's metric names and the one place metrics are computed.

Values are strings, as in the seed. Durations are nanoseconds measured from
the start of the request (``TIME_TAKEN``, ``FIRST_TOKEN_RECIEVED_TIME``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gateway.core.results import Usage

INPUT_TOKEN = "INPUT_TOKEN"
OUTPUT_TOKEN = "OUTPUT_TOKEN"
TOTAL_TOKEN = "TOTAL_TOKEN"
CACHED_CONTENT_TOKEN = "CACHED_CONTENT_TOKEN"
THOUGHTS_TOKEN = "THOUGHTS_TOKEN"
FIRST_TOKEN_RECIEVED_TIME = "FIRST_TOKEN_RECIEVED_TIME"
TIME_TAKEN = "TIME_TAKEN"
STATUS = "STATUS"
LLM_REQUEST_ID = "LLM_REQUEST_ID"
INPUT_COST = "INPUT_COST"
OUTPUT_COST = "OUTPUT_COST"
COST = "COST"

STATUS_SUCCESS = "SUCCESS"
STATUS_FAILED = "FAILED"
STATUS_CANCELLED = "CANCELLED"

DESCRIPTIONS: dict[str, str] = {
    INPUT_TOKEN: "Input (prompt) tokens",
    OUTPUT_TOKEN: "Output (completion) tokens",
    TOTAL_TOKEN: "Total tokens",
    CACHED_CONTENT_TOKEN: "Input tokens served from the provider's cache",
    THOUGHTS_TOKEN: "Reasoning (thinking) tokens, included in output tokens",
    FIRST_TOKEN_RECIEVED_TIME: "Time to receive first token from LLM (ns from request start)",
    TIME_TAKEN: "Time taken to serve the llm request (ns)",
    STATUS: "Status of the given request to LLM",
    LLM_REQUEST_ID: "LLM Request ID",
    INPUT_COST: "Cost of the input tokens in USD (cached tokens at the cached price)",
    OUTPUT_COST: "Cost of the output tokens in USD (reasoning tokens included)",
    COST: "Total cost of the request in USD",
}


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    value: str
    description: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "value": self.value, "description": self.description}


def _metric(name: str, value: object, description: str | None = None) -> Metric:
    return Metric(name, str(value), description or DESCRIPTIONS[name])


def build_metrics(
    *,
    llm_request_id: int,
    status: str,
    time_taken_ns: int,
    usage: Usage,
    first_token_ns: int | None = None,
    output_estimated: bool = False,
    input_estimated: bool = False,
) -> list[Metric]:
    """The metrics of one finished request, in a fixed order."""
    out = [_metric(LLM_REQUEST_ID, llm_request_id), _metric(STATUS, status), _metric(TIME_TAKEN, time_taken_ns)]
    if first_token_ns is not None:
        out.append(_metric(FIRST_TOKEN_RECIEVED_TIME, first_token_ns))
    if usage.input_tokens is not None:
        description = (
            "Input tokens estimated from the request (the provider reported none before the request ended)"
            if input_estimated
            else None
        )
        out.append(_metric(INPUT_TOKEN, usage.input_tokens, description))
    if usage.output_tokens is not None:
        description = (
            "Output tokens estimated from the deltas delivered before the stream ended"
            if output_estimated
            else None
        )
        out.append(_metric(OUTPUT_TOKEN, usage.output_tokens, description))
    if usage.total is not None:
        out.append(_metric(TOTAL_TOKEN, usage.total))
    if usage.cached_input_tokens:
        out.append(_metric(CACHED_CONTENT_TOKEN, usage.cached_input_tokens))
    if usage.reasoning_tokens:
        out.append(_metric(THOUGHTS_TOKEN, usage.reasoning_tokens))
    return out


def decimal_text(value: Decimal) -> str:
    """``value`` in plain positional notation, never exponent form, keeping its exponent:
    ``Decimal("4.50000E-7")`` is ``"0.000000450000"``. The one text of a cost, in metrics and JSON."""
    return f"{value:f}"


def cost_metrics(input_cost: Decimal, output_cost: Decimal, total: Decimal) -> list[Metric]:
    """``INPUT_COST``, ``OUTPUT_COST`` and ``COST`` as ``decimal_text`` strings."""
    return [_metric(INPUT_COST, decimal_text(input_cost)), _metric(OUTPUT_COST, decimal_text(output_cost)),
            _metric(COST, decimal_text(total))]
