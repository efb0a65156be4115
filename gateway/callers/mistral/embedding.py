"""``EmbeddingCaller`` for Mistral's ``POST /v1/embeddings``.

Reference: Mistral API, "Embeddings" (``EmbeddingRequest``: ``model``,
``input``, ``output_dimension``, ``output_dtype``). Vectors are requested as
floats; the API layer re-encodes them as the client asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import CallerContext, EmbeddingOptions
from gateway.callers.http import malformed, request_json
from gateway.callers.mistral.wire import MistralWire, parse_mistral_error
from gateway.core import params as p
from gateway.core.results import Embedding, EmbeddingResult, Usage

EMBEDDING_PARAMETERS = frozenset({p.NAME, p.DIMENSIONS})


def to_mistral_embeddings(inputs: Sequence[str], options: EmbeddingOptions) -> dict[str, Any]:
    """``model.dimensions`` becomes ``output_dimension`` (models that support it,
    e.g. ``codestral-embed``; Mistral rejects it for the others)."""
    body: dict[str, Any] = {"model": options.model, "input": list(inputs), "output_dtype": "float"}
    if (dimensions := options.model_parameter.get_int(p.DIMENSIONS)) is not None:
        body["output_dimension"] = dimensions
    return body


def _embedding(item: Any, position: int, provider: str) -> Embedding:
    vector = item.get("embedding") if isinstance(item, dict) else None
    if not isinstance(vector, list):
        raise malformed(provider, "an embedding is not a list of numbers")
    return Embedding(index=int(item.get("index", position)), vector=tuple(float(x) for x in vector))


class MistralEmbeddingCaller:
    def __init__(self, ctx: CallerContext, wire: MistralWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_embedding(self, inputs: Sequence[str], options: EmbeddingOptions) -> EmbeddingResult:
        wire = self._wire
        body = to_mistral_embeddings(inputs, options)
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url("embeddings"), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_mistral_error,
        )
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise malformed(wire.provider, "no 'data' in the embeddings response")
        embeddings = [_embedding(item, i, wire.provider) for i, item in enumerate(data["data"])]
        raw_usage = data.get("usage")
        usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
        options.after({"model": data.get("model"), "usage": usage, "count": len(embeddings)})
        return EmbeddingResult(
            embeddings=tuple(sorted(embeddings, key=lambda e: e.index)),
            usage=Usage(input_tokens=usage.get("prompt_tokens"), output_tokens=0,
                        total_tokens=usage.get("total_tokens")),
            model=data.get("model"),
        )
