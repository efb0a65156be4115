"""What a request cost, from its token usage and a price table.

Prices are USD per million tokens (``gateway/data/prices.yaml``, overridable by the
config file's ``prices:``). ``Usage.input_tokens`` is the whole prompt, cached tokens
included, and ``Usage.output_tokens`` the whole completion, reasoning included, so::

    input  = (input_tokens - cached_input_tokens) * input + cached_input_tokens * cached_input
    output = output_tokens * output

Reasoning tokens are never added again, and cached tokens are never counted twice.
Amounts are ``Decimal`` quantized to 12 decimal places (the store's ``NUMERIC(24, 12)``);
``total`` is the sum of the two quantized parts. Unknown prices or unknown input counts
give no cost (``None``), never zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from importlib import resources
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from gateway.config import GatewayConfig, ModelPrice
from gateway.core.results import Usage

QUANTUM = Decimal("0.000000000001")
_MILLION = Decimal(1_000_000)
_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN)
_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")
_TABLE = TypeAdapter(dict[str, ModelPrice])


@dataclass(frozen=True, slots=True)
class Cost:
    """USD amounts of one request; ``total == input + output`` exactly."""

    input: Decimal
    output: Decimal
    total: Decimal


def _quantize(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, context=_CONTEXT)


def price(usage: Usage, prices: ModelPrice) -> Cost | None:
    """The cost of ``usage`` at ``prices``; ``None`` when the input token count is unknown.

    Cached tokens beyond the prompt's size are capped at it; a missing output count is zero
    (embeddings report none)."""
    if usage.input_tokens is None:
        return None
    prompt = max(usage.input_tokens, 0)
    cached = min(max(usage.cached_input_tokens or 0, 0), prompt)
    cached_rate = prices.cached_input if prices.cached_input is not None else prices.input
    fresh_cost = _CONTEXT.multiply(Decimal(prompt - cached), prices.input)
    cached_cost = _CONTEXT.multiply(Decimal(cached), cached_rate)
    input_cost = _quantize(_CONTEXT.divide(_CONTEXT.add(fresh_cost, cached_cost), _MILLION))
    output_tokens = Decimal(max(usage.output_tokens or 0, 0))
    output_cost = _quantize(_CONTEXT.divide(_CONTEXT.multiply(output_tokens, prices.output), _MILLION))
    return Cost(input_cost, output_cost, input_cost + output_cost)


def without_date(model: str) -> str:
    """``model`` without a trailing snapshot date (``-2024-07-18`` or ``-20241022``)."""
    return _DATE_SUFFIX.sub("", model)


def load_shipped_prices() -> dict[str, ModelPrice]:
    """The price table shipped as package data (``gateway/data/prices.yaml``)."""
    text = resources.files("gateway").joinpath("data/prices.yaml").read_text(encoding="utf-8")
    raw: Any = yaml.safe_load(text) or {}
    try:
        return _TABLE.validate_python(raw)
    except ValidationError as exc:  # a broken shipped file is a packaging bug
        raise RuntimeError(f"gateway/data/prices.yaml is invalid: {exc}") from exc


class PriceTable:
    """``provider/model`` -> ``ModelPrice``. Built once at start; lookups are dict reads."""

    def __init__(self, prices: Mapping[str, ModelPrice]) -> None:
        self._prices = dict(prices)

    @classmethod
    def with_overrides(cls, overrides: Mapping[str, ModelPrice] | None = None) -> PriceTable:
        """The shipped table with ``overrides`` (the config file's ``prices:``) winning."""
        return cls({**load_shipped_prices(), **(overrides or {})})

    @classmethod
    def from_config(cls, config: GatewayConfig) -> PriceTable:
        return cls.with_overrides(config.prices)

    def __len__(self) -> int:
        return len(self._prices)

    def get(self, key: str) -> ModelPrice | None:
        return self._prices.get(key)

    def lookup(self, provider: str, models: Iterable[str | None]) -> ModelPrice | None:
        """The price of the first of ``models`` known for ``provider``: each is tried as
        given (a leading ``provider/`` is dropped), then without a snapshot date suffix.
        Pass the model as answered first, then the model requested."""
        candidates: list[str] = []
        for model in models:
            if not model:
                continue
            name = model.removeprefix(f"{provider}/")
            candidates.extend((name, without_date(name)))
        for name in candidates:
            found = self._prices.get(f"{provider}/{name}")
            if found is not None:
                return found
        return None

    def cost(self, provider: str | None, models: Iterable[str | None], usage: Usage) -> Cost | None:
        """``price`` at the first known of ``models``; ``None`` for an unknown model."""
        if provider is None:
            return None
        found = self.lookup(provider, models)
        return price(usage, found) if found is not None else None
