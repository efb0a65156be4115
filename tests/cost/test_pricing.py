"""Cost maths: cached and reasoning tokens priced exactly once each, lookups, overrides."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.config import ConfigError, ModelPrice, parse_config
from gateway.core.results import Usage
from gateway.service.pricing import Cost, PriceTable, load_shipped_prices, price, without_date

MINI = ModelPrice(input=Decimal("0.15"), cached_input=Decimal("0.075"), output=Decimal("0.60"))


def test_cached_and_reasoning_tokens_are_priced_once_each() -> None:
    # prompt 11 (3 of them cached), completion 7 (2 of them reasoning): the fake upstream's usage
    usage = Usage(input_tokens=11, output_tokens=7, total_tokens=18, cached_input_tokens=3, reasoning_tokens=2)
    cost = price(usage, MINI)
    # (11 - 3) * 0.15 + 3 * 0.075 = 1.425 per million; 7 * 0.60 = 4.2 per million
    assert cost == Cost(Decimal("0.000001425000"), Decimal("0.000004200000"), Decimal("0.000005625000"))
    assert cost is not None and cost.total.as_tuple().exponent == -12


def test_reasoning_tokens_do_not_change_the_output_cost() -> None:
    plain = price(Usage(input_tokens=1000, output_tokens=500), MINI)
    thinking = price(Usage(input_tokens=1000, output_tokens=500, reasoning_tokens=400), MINI)
    assert plain == thinking


def test_cached_tokens_without_a_cached_price_cost_the_input_price() -> None:
    flat = ModelPrice(input=Decimal("2"), output=Decimal("8"))
    cost = price(Usage(input_tokens=1_000_000, output_tokens=0, cached_input_tokens=400_000), flat)
    assert cost == Cost(Decimal("2.000000000000"), Decimal("0E-12"), Decimal("2.000000000000"))


def test_large_counts_stay_exact() -> None:
    cost = price(Usage(input_tokens=123_456_789, output_tokens=98_765_432, cached_input_tokens=23_456_789), MINI)
    assert cost is not None
    assert cost.input == Decimal("15.000000000000") + Decimal("1.759259175000")
    assert cost.output == Decimal("59.259259200000")
    assert cost.total == cost.input + cost.output


def test_amounts_are_quantized_to_twelve_places_half_even() -> None:
    tiny = ModelPrice(input=Decimal("0.0000005"), output=Decimal("0.0000015"))
    cost = price(Usage(input_tokens=1, output_tokens=1), tiny)
    # 5e-13 -> 0 (half to even), 1.5e-12 -> 2e-12
    assert cost == Cost(Decimal("0E-12"), Decimal("2E-12"), Decimal("2E-12"))


def test_cached_count_is_capped_at_the_prompt_and_missing_output_is_zero() -> None:
    cost = price(Usage(input_tokens=10, cached_input_tokens=50), MINI)
    assert cost == Cost(Decimal("0.000000750000"), Decimal("0E-12"), Decimal("0.000000750000"))


def test_unknown_input_count_gives_no_cost() -> None:
    assert price(Usage(output_tokens=5), MINI) is None


def test_unknown_model_gives_no_cost_not_zero() -> None:
    table = PriceTable({"openai/gpt-4o-mini": MINI})
    assert table.cost("openai", ["gpt-unknown"], Usage(input_tokens=10, output_tokens=10)) is None
    assert table.cost(None, ["gpt-4o-mini"], Usage(input_tokens=10, output_tokens=10)) is None
    assert table.cost("anthropic", ["gpt-4o-mini"], Usage(input_tokens=10, output_tokens=10)) is None


@pytest.mark.parametrize("model", ["gpt-4o-mini-2024-07-18", "gpt-4o-mini", "openai/gpt-4o-mini"])
def test_lookup_strips_the_provider_prefix_and_a_date_suffix(model: str) -> None:
    table = PriceTable({"openai/gpt-4o-mini": MINI})
    assert table.lookup("openai", [model]) is MINI


def test_without_date_handles_both_snapshot_formats() -> None:
    assert without_date("gpt-4o-mini-2024-07-18") == "gpt-4o-mini"
    assert without_date("claude-3-5-haiku-20241022") == "claude-3-5-haiku"
    assert without_date("gpt-4.1") == "gpt-4.1"
    assert without_date("command-r-08-2024") == "command-r-08-2024"


def test_answered_model_wins_then_the_requested_one() -> None:
    big = ModelPrice(input=Decimal("2.5"), output=Decimal("10"))
    table = PriceTable({"openai/gpt-4o-mini": MINI, "openai/gpt-4o": big})
    assert table.lookup("openai", ["gpt-4o-2024-08-06", "gpt-4o-mini"]) is big
    assert table.lookup("openai", [None, "gpt-unknown-2025-01-01", "gpt-4o-mini"]) is MINI


def test_shipped_table_loads_and_prices_common_models() -> None:
    shipped = load_shipped_prices()
    assert shipped["openai/gpt-4o-mini"] == MINI
    assert shipped["anthropic/claude-sonnet-4-5"].cached_input == Decimal("0.30")
    assert all(p.input >= 0 and p.output >= 0 for p in shipped.values())
    assert all(key.partition("/")[2] for key in shipped)
    table = PriceTable.with_overrides()
    assert table.lookup("anthropic", ["claude-3-5-haiku-20241022"]) == shipped["anthropic/claude-3-5-haiku"]


def test_config_prices_override_and_extend_the_shipped_table() -> None:
    config = parse_config({"prices": {
        "openai/gpt-4o-mini": {"input": "1", "output": "2"},
        "acme/house-model": {"input": "0.5", "cached_input": 0.25, "output": 1},
    }}, env={})
    table = PriceTable.from_config(config)
    assert table.get("openai/gpt-4o-mini") == ModelPrice(input=Decimal("1"), output=Decimal("2"))
    assert table.get("acme/house-model") == ModelPrice(input=Decimal("0.5"), cached_input=Decimal("0.25"),
                                                       output=Decimal("1"))
    assert table.get("openai/gpt-4o") == load_shipped_prices()["openai/gpt-4o"]
    cost = table.cost("openai", ["gpt-4o-mini-2024-07-18"], Usage(input_tokens=1_000_000, output_tokens=1_000_000))
    assert cost == Cost(Decimal("1.000000000000"), Decimal("2.000000000000"), Decimal("3.000000000000"))


@pytest.mark.parametrize(("prices", "message"), [
    ({"openai/x": {"input": "-1", "output": "1"}}, "prices.openai/x.input: Input should be greater than or equal to 0"),
    ({"openai/x": {"input": "1", "output": "1", "currency": "EUR"}}, "prices.openai/x.currency: Extra inputs"),
    ({"openai/x": {"input": "NaN", "output": "1"}}, "prices.openai/x.input: Input should be a finite number"),
    ({"openai/x": {"output": "1"}}, "prices.openai/x.input: Field required"),
    ({"gpt-4o": {"input": "1", "output": "1"}}, "prices.gpt-4o.[key]: String should match pattern"),
])
def test_bad_prices_in_the_config_are_refused_naming_the_place(prices: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_config({"prices": prices}, env={}, source="gateway.yaml")
    assert str(excinfo.value).startswith("gateway.yaml: ")
    assert message in str(excinfo.value)
