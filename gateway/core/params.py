"""The ``model.*`` parameter map and its one typed accessor.

Values may arrive as native JSON values or, as in the seed, as strings
(``"0.7"``, ``"true"``, ``'{"type": "json_object"}'``). Aliases from the seed
(``model.stop_sequences``, ``model.max_tokens``, ...) are folded into canonical
keys when the map is built, so callers read one name per concept.
Bad values raise ``InvalidRequestError`` naming the OpenAI field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

import orjson

from gateway.errors import InvalidRequestError

ALIASES: dict[str, str] = {
    "model.stop_sequences": "model.stop",
    "model.max_tokens": "model.max_completion_tokens",
    "model.max_output_tokens": "model.max_completion_tokens",
    "model.p": "model.top_p",
    "model.k": "model.top_k",
    "model.candidate_count": "model.n",
}

NAME = "model.name"
TEMPERATURE = "model.temperature"
TOP_P = "model.top_p"
TOP_K = "model.top_k"
MAX_COMPLETION_TOKENS = "model.max_completion_tokens"
MAX_TOKENS = "model.max_tokens"
"""An alias of ``MAX_COMPLETION_TOKENS`` (OpenAI's older name); ``ModelParameters.spelling`` tells which was given."""
FREQUENCY_PENALTY = "model.frequency_penalty"
PRESENCE_PENALTY = "model.presence_penalty"
SEED = "model.seed"
STOP = "model.stop"
TOOL_CHOICE = "model.tool_choice"
RESPONSE_FORMAT = "model.response_format"
REASONING_EFFORT = "model.reasoning_effort"
SERVICE_TIER = "model.service_tier"
USER = "model.user"
N = "model.n"
LOGPROBS = "model.logprobs"
TOP_LOGPROBS = "model.top_logprobs"
PARALLEL_TOOL_CALLS = "model.parallel_tool_calls"
METADATA = "model.metadata"
LOGIT_BIAS = "model.logit_bias"
STORE = "model.store"
THINKING = "model.thinking"
ENCODING_FORMAT = "model.encoding_format"
DIMENSIONS = "model.dimensions"
INPUT_TYPE = "model.input_type"
TOP_N = "model.top_n"
RETURN_DOCUMENTS = "model.return_documents"

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


FieldKind = Literal["float", "int", "bool", "str", "object", "str_list", "json"]
FieldTable = Mapping[str, tuple[str, FieldKind]]
"""``model.*`` key -> (provider body field, value kind): a provider's parameters as data."""


def canonical_key(key: str) -> str:
    return ALIASES.get(key, key)


def field_name(key: str) -> str:
    """The OpenAI body field a ``model.*`` key comes from (for error messages)."""
    if key == MAX_COMPLETION_TOKENS:
        return "max_completion_tokens"
    return key.removeprefix("model.")


class ModelParameters(Mapping[str, Any]):
    """An immutable view of the ``model.*`` map with typed, validating getters."""

    __slots__ = ("_spelled", "_values")

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        folded: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for key, value in (values or {}).items():
            if value is None:
                continue
            canon = canonical_key(key)
            if canon in folded and canon != key:
                continue
            folded[canon] = value
            spelled[canon] = key
        self._values = folded
        self._spelled = {canon: key for canon, key in spelled.items() if canon != key}

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"ModelParameters({sorted(self._values)!r})"

    def _given(self) -> dict[str, Any]:
        """The values under the keys they were given as (aliases kept)."""
        return {self.spelling(key): value for key, value in self._values.items()}

    def merged(self, overrides: Mapping[str, Any]) -> ModelParameters:
        """A new map where ``overrides`` win over these values (and over their spelling)."""
        winners = ModelParameters(overrides)
        combined = {self.spelling(k): v for k, v in self._values.items() if k not in winners._values}
        combined.update(winners._given())
        return ModelParameters(combined)

    def without(self, keys: set[str]) -> ModelParameters:
        return ModelParameters({self.spelling(k): v for k, v in self._values.items() if k not in keys})

    def spelling(self, key: str) -> str:
        """The key the value of canonical ``key`` was given under: an alias such as
        ``model.max_tokens``, or ``key`` itself (also when absent)."""
        return self._spelled.get(key, key)

    def _bad(self, key: str, expected: str) -> InvalidRequestError:
        name = field_name(key)
        return InvalidRequestError(
            f"Invalid value for '{name}': expected {expected}, got {self._values[key]!r}.", param=name
        )

    def get_str(self, key: str) -> str | None:
        value = self._values.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return str(value)
        raise self._bad(key, "a string")

    def get_float(self, key: str) -> float | None:
        value = self._values.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self._bad(key, "a number")
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise self._bad(key, "a number") from None
        raise self._bad(key, "a number")

    def get_int(self, key: str) -> int | None:
        value = self._values.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self._bad(key, "an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                parsed = float(value.strip())
            except ValueError:
                raise self._bad(key, "an integer") from None
            if parsed.is_integer():
                return int(parsed)
        raise self._bad(key, "an integer")

    def get_bool(self, key: str) -> bool | None:
        value = self._values.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise self._bad(key, "a boolean")

    def get_json(self, key: str) -> Any:
        """A JSON value; strings that hold JSON objects or arrays are parsed."""
        value = self._values.get(key)
        if isinstance(value, str):
            text = value.strip()
            if text[:1] in ("{", "["):
                try:
                    return orjson.loads(text)
                except orjson.JSONDecodeError:
                    raise self._bad(key, "valid JSON") from None
        return value

    def get_object(self, key: str) -> dict[str, Any] | None:
        value = self.get_json(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._bad(key, "a JSON object")
        return value

    def project(self, table: FieldTable) -> dict[str, Any]:
        """The body fields ``table`` names, for the keys present, each read with its kind's getter."""
        body: dict[str, Any] = {}
        for key, (name, kind) in table.items():
            if key in self._values:
                value = _GETTERS[kind](self, key)
                if value is not None:
                    body[name] = value
        return body

    def get_str_list(self, key: str) -> list[str] | None:
        """A list of strings; a JSON array string or a comma-separated string (seed form) also works."""
        value = self.get_json(key)
        if value is None:
            return None
        if isinstance(value, str):
            return [item for item in value.split(",") if item]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return list(value)
        raise self._bad(key, "a string or a list of strings")


_GETTERS: dict[str, Any] = {
    "float": ModelParameters.get_float,
    "int": ModelParameters.get_int,
    "bool": ModelParameters.get_bool,
    "str": ModelParameters.get_str,
    "object": ModelParameters.get_object,
    "str_list": ModelParameters.get_str_list,
    "json": ModelParameters.get_json,
}
