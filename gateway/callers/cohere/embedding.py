"""``EmbeddingCaller`` for Cohere's v2 Embed API (POST /v2/embed).

Reference: Cohere API reference, "Embed" (v2): ``texts``, ``model``,
``input_type`` (required for v3+ models: ``search_document``, ``search_query``,
``classification``, ``clustering``), ``embedding_types`` (required in v2),
``output_dimension``, ``truncate`` (``NONE`` | ``START`` | ``END``); the answer
holds ``embeddings.float[i]`` per text and ``meta.billed_units.input_tokens``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import CallerContext, EmbeddingOptions
from gateway.callers.cohere.wire import CohereWire, as_int, obj, parse_cohere_error
from gateway.callers.http import malformed, request_json
from gateway.core import params as p
from gateway.core.params import ModelParameters
from gateway.core.results import Embedding, EmbeddingResult, Usage
from gateway.errors import InvalidRequestError

TRUNCATE = "model.truncate"
"""Cohere's ``truncate`` (``NONE``, ``START`` or ``END``)."""

EMBEDDING_PARAMETERS = frozenset({p.NAME, p.DIMENSIONS, p.INPUT_TYPE, TRUNCATE})

DEFAULT_INPUT_TYPE = "search_document"
# Cohere's own values, plus the neutral ``query``/``document`` other providers use.
_INPUT_TYPES = {
    "search_document": "search_document", "search_query": "search_query", "classification": "classification",
    "clustering": "clustering", "document": "search_document", "query": "search_query",
}
_TRUNCATE = frozenset({"NONE", "START", "END"})


def embed_body(inputs: Sequence[str], mp: ModelParameters, model: str) -> dict[str, Any]:
    """The /v2/embed body; only float vectors are asked for (the API layer re-encodes them)."""
    given = mp.get_str(p.INPUT_TYPE) or DEFAULT_INPUT_TYPE
    input_type = _INPUT_TYPES.get(given)
    if input_type is None:
        raise InvalidRequestError(
            f"Invalid value for 'input_type': {given!r}; use one of {', '.join(sorted(_INPUT_TYPES))}.",
            param="input_type")
    body: dict[str, Any] = {"model": model, "texts": list(inputs), "input_type": input_type,
                            "embedding_types": ["float"]}
    if (dimensions := mp.get_int(p.DIMENSIONS)) is not None:
        body["output_dimension"] = dimensions
    if (truncate := mp.get_str(TRUNCATE)) is not None:
        if truncate.upper() not in _TRUNCATE:
            raise InvalidRequestError("Invalid value for 'truncate': use NONE, START or END.", param="truncate")
        body["truncate"] = truncate.upper()
    return body


def _vectors(data: Any, count: int, provider: str) -> tuple[Embedding, ...]:
    floats = obj(data, "embeddings").get("float")
    if not isinstance(floats, list) or len(floats) != count:
        raise malformed(provider, "'embeddings.float' does not hold one vector per input")
    if not all(isinstance(vector, list) for vector in floats):
        raise malformed(provider, "an embedding is not a list of numbers")
    return tuple(Embedding(index=i, vector=tuple(float(x) for x in vector)) for i, vector in enumerate(floats))


def embed_usage(data: Any) -> Usage:
    """``meta.billed_units.input_tokens`` (``meta.tokens.input_tokens`` as a fallback)."""
    meta = obj(data, "meta")
    tokens = as_int(obj(meta, "billed_units").get("input_tokens"))
    if tokens is None:
        tokens = as_int(obj(meta, "tokens").get("input_tokens"))
    if tokens is None:
        return Usage()
    return Usage(input_tokens=tokens, output_tokens=0, total_tokens=tokens)


class CohereEmbeddingCaller:
    def __init__(self, ctx: CallerContext, wire: CohereWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_embedding(self, inputs: Sequence[str], options: EmbeddingOptions) -> EmbeddingResult:
        wire = self._wire
        body = embed_body(inputs, options.model_parameter, options.model)
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url("v2/embed"), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_cohere_error,
        )
        embeddings = _vectors(data, len(inputs), wire.provider)
        options.after({"id": data.get("id"), "meta": data.get("meta"), "count": len(embeddings)})
        return EmbeddingResult(embeddings=embeddings, usage=embed_usage(data), model=options.model)
