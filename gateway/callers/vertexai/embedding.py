"""``EmbeddingCaller`` for Vertex AI text-embedding models: ``publishers/google/models/{model}:predict``.

Reference: Vertex AI "Text embeddings API"
(https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api):
``{"instances": [{"content": text, "task_type"?}], "parameters": {"outputDimensionality"?}}``
-> ``{"predictions": [{"embeddings": {"values": [...], "statistics": {"token_count", "truncated"}}}]}``
in input order. Input tokens are the sum of ``statistics.token_count``, when
every prediction reports one. ``model.input_type`` takes the same task types as
the Gemini API (``gateway.callers.gemini.embedding.task_type``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import CallerContext, EmbeddingOptions
from gateway.callers.gemini.embedding import task_type, vector
from gateway.callers.gemini.errors import GoogleErrorParser, google_errors
from gateway.callers.http import malformed, request_json
from gateway.callers.vertexai.wire import VertexEndpoint
from gateway.core import params as p
from gateway.core.results import Embedding, EmbeddingResult, Usage

EMBEDDING_PARAMETERS = frozenset({p.NAME, p.DIMENSIONS, p.INPUT_TYPE})


def _token_count(prediction: dict[str, Any]) -> int | None:
    statistics = (prediction.get("embeddings") or {}).get("statistics") or {}
    count = statistics.get("token_count") if isinstance(statistics, dict) else None
    if isinstance(count, int | float) and not isinstance(count, bool) and float(count).is_integer():
        return int(count)
    return None


class VertexEmbeddingCaller:
    def __init__(self, ctx: CallerContext, endpoint: VertexEndpoint) -> None:
        self._ctx = ctx
        self._endpoint = endpoint

    def _body(self, inputs: Sequence[str], options: EmbeddingOptions) -> dict[str, Any]:
        mp = options.model_parameter
        instance: dict[str, Any] = {}
        if (kind := mp.get_str(p.INPUT_TYPE)) is not None:
            instance["task_type"] = task_type(kind)
        body: dict[str, Any] = {"instances": [{"content": text, **instance} for text in inputs]}
        if (dimensions := mp.get_int(p.DIMENSIONS)) is not None:
            body["parameters"] = {"outputDimensionality": dimensions}
        return body

    async def get_embedding(self, inputs: Sequence[str], options: EmbeddingOptions) -> EmbeddingResult:
        endpoint = self._endpoint
        body = self._body(inputs, options)
        options.before(body)
        parser = GoogleErrorParser()
        headers = await endpoint.headers()
        with google_errors(parser):
            data, _ = await request_json(
                self._ctx.http, "POST", endpoint.model_url(options.model, "predict"), provider=endpoint.provider,
                timeouts=self._ctx.timeouts, headers=headers, json=body, parse_error=parser,
            )
        predictions = data.get("predictions") if isinstance(data, dict) else None
        if not isinstance(predictions, list) or len(predictions) != len(inputs):
            raise malformed(endpoint.provider, "not one prediction per input")
        embeddings: list[Embedding] = []
        counts: list[int | None] = []
        for i, prediction in enumerate(predictions):
            if not isinstance(prediction, dict):
                raise malformed(endpoint.provider, "a prediction is not an object")
            values = (prediction.get("embeddings") or {}).get("values")
            embeddings.append(Embedding(index=i, vector=vector(values, endpoint.provider)))
            counts.append(_token_count(prediction))
        tokens = None if None in counts else sum(c for c in counts if c is not None)
        options.after({"count": len(embeddings), "token_count": tokens, "metadata": data.get("metadata")})
        return EmbeddingResult(embeddings=tuple(embeddings), usage=Usage(input_tokens=tokens, total_tokens=tokens),
                               model=options.model)
