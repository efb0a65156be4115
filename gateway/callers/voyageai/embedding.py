"""``EmbeddingCaller`` for Voyage AI (POST /v1/embeddings).

Reference: Voyage AI API reference, "Text embedding models": ``input`` (list of
strings), ``model`` (required), ``input_type`` (``query`` | ``document`` |
null), ``truncation``, ``output_dimension``; the answer is ``data[{embedding,
index}]`` and ``usage.total_tokens`` (all of them input tokens).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import CallerContext, EmbeddingOptions
from gateway.callers.http import malformed, request_json
from gateway.callers.voyageai.wire import VoyageWire, as_int, parse_voyage_error, truncation
from gateway.core import params as p
from gateway.core.params import ModelParameters
from gateway.core.results import Embedding, EmbeddingResult, Usage
from gateway.errors import InvalidRequestError

TRUNCATION = "model.truncation"
"""Voyage's ``truncation`` flag (embeddings and rerank)."""

EMBEDDING_PARAMETERS = frozenset({p.NAME, p.DIMENSIONS, p.INPUT_TYPE, TRUNCATION})

# Voyage's own values, plus Cohere-style names for the same two roles.
_INPUT_TYPES = {"query": "query", "document": "document", "search_query": "query",
                "search_document": "document"}


def embeddings_body(inputs: Sequence[str], mp: ModelParameters, model: str) -> dict[str, Any]:
    """The /v1/embeddings body; vectors come back as floats (Voyage's default encoding)."""
    body: dict[str, Any] = {"input": list(inputs), "model": model}
    if (given := mp.get_str(p.INPUT_TYPE)) is not None:
        if given not in _INPUT_TYPES:
            raise InvalidRequestError(f"Invalid value for 'input_type': {given!r}; use 'query' or 'document'.",
                                      param="input_type")
        body["input_type"] = _INPUT_TYPES[given]
    if (dimensions := mp.get_int(p.DIMENSIONS)) is not None:
        body["output_dimension"] = dimensions
    body.update(truncation(mp.get_bool(TRUNCATION)))
    return body


def _embeddings(data: Any, count: int, provider: str) -> tuple[Embedding, ...]:
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) != count:
        raise malformed(provider, "'data' does not hold one embedding per input")
    out: list[Embedding] = []
    for position, item in enumerate(items):
        vector = item.get("embedding") if isinstance(item, dict) else None
        if not isinstance(vector, list):
            raise malformed(provider, "an embedding is not a list of numbers")
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < count:
            raise malformed(provider, f"embedding index {index!r} is not an input position")
        out.append(Embedding(index=index, vector=tuple(float(x) for x in vector)))
    return tuple(sorted(out, key=lambda e: e.index))


def token_usage(data: Any) -> Usage:
    """``usage.total_tokens``: every token Voyage counts is an input token."""
    usage = data.get("usage") if isinstance(data, dict) else None
    tokens = as_int(usage.get("total_tokens")) if isinstance(usage, dict) else None
    if tokens is None:
        return Usage()
    return Usage(input_tokens=tokens, output_tokens=0, total_tokens=tokens)


class VoyageEmbeddingCaller:
    def __init__(self, ctx: CallerContext, wire: VoyageWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_embedding(self, inputs: Sequence[str], options: EmbeddingOptions) -> EmbeddingResult:
        wire = self._wire
        body = embeddings_body(inputs, options.model_parameter, options.model)
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url("embeddings"), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_voyage_error,
        )
        embeddings = _embeddings(data, len(inputs), wire.provider)
        options.after({"model": data.get("model"), "usage": data.get("usage"), "count": len(embeddings)})
        return EmbeddingResult(embeddings=embeddings, usage=token_usage(data),
                               model=data.get("model") or options.model)
