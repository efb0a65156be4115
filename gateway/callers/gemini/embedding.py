"""``EmbeddingCaller`` for the Gemini API: ``models.batchEmbedContents``.

Reference: Gemini API reference "Embeddings"
(https://ai.google.dev/api/embeddings#method:-models.batchembedcontents):
``{"requests": [{"model": "models/{model}", "content": {"parts": [{"text"}]},
"taskType"?, "outputDimensionality"?}]}`` -> ``{"embeddings": [{"values": [...]}]}``
in input order. The answer has no token counts unless a ``usageMetadata`` is
present; without one the usage stays unreported (``None``), never guessed.

``model.input_type`` -> ``taskType``: Gemini's own names (``RETRIEVAL_QUERY``,
``SEMANTIC_SIMILARITY``, ...; any case) and the common aliases ``query``,
``document``, ``search_query``, ``search_document``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import CallerContext, EmbeddingOptions
from gateway.callers.gemini.errors import GoogleErrorParser, google_errors
from gateway.callers.gemini.response import usage_from_gemini
from gateway.callers.gemini.wire import ApiKeyEndpoint, model_resource
from gateway.callers.http import malformed, request_json
from gateway.core import params as p
from gateway.core.results import Embedding, EmbeddingResult
from gateway.errors import InvalidRequestError

EMBEDDING_PARAMETERS = frozenset({p.NAME, p.DIMENSIONS, p.INPUT_TYPE})

TASK_TYPES = frozenset({
    "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING",
    "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY",
})
_TASK_ALIASES = {
    "query": "RETRIEVAL_QUERY", "search_query": "RETRIEVAL_QUERY",
    "document": "RETRIEVAL_DOCUMENT", "search_document": "RETRIEVAL_DOCUMENT",
}


def task_type(value: str) -> str:
    """The ``taskType`` for a ``model.input_type`` value; raises ``InvalidRequestError`` if unknown."""
    name = _TASK_ALIASES.get(value.strip().lower(), value.strip().upper())
    if name not in TASK_TYPES:
        raise InvalidRequestError(
            f"'input_type' must be one of {', '.join(sorted(TASK_TYPES))} (or query/document); got {value!r}.",
            param="input_type",
        )
    return name


def vector(raw: Any, provider: str) -> tuple[float, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, int | float) for x in raw):
        raise malformed(provider, "an embedding is not a list of numbers")
    return tuple(float(x) for x in raw)


class GeminiEmbeddingCaller:
    def __init__(self, ctx: CallerContext, endpoint: ApiKeyEndpoint) -> None:
        self._ctx = ctx
        self._endpoint = endpoint

    def _body(self, inputs: Sequence[str], options: EmbeddingOptions) -> dict[str, Any]:
        mp = options.model_parameter
        common: dict[str, Any] = {"model": model_resource(options.model, self._endpoint.provider)}
        if (dimensions := mp.get_int(p.DIMENSIONS)) is not None:
            common["outputDimensionality"] = dimensions
        if (kind := mp.get_str(p.INPUT_TYPE)) is not None:
            common["taskType"] = task_type(kind)
        return {"requests": [{**common, "content": {"parts": [{"text": text}]}} for text in inputs]}

    async def get_embedding(self, inputs: Sequence[str], options: EmbeddingOptions) -> EmbeddingResult:
        endpoint = self._endpoint
        body = self._body(inputs, options)
        options.before(body)
        parser = GoogleErrorParser()
        with google_errors(parser):
            data, _ = await request_json(
                self._ctx.http, "POST", endpoint.model_url(options.model, "batchEmbedContents"),
                provider=endpoint.provider, timeouts=self._ctx.timeouts, headers=await endpoint.headers(),
                json=body, parse_error=parser,
            )
        raw = data.get("embeddings") if isinstance(data, dict) else None
        if not isinstance(raw, list) or len(raw) != len(inputs):
            raise malformed(endpoint.provider, "not one embedding per input")
        embeddings = tuple(
            Embedding(index=i, vector=vector(item.get("values") if isinstance(item, dict) else None,
                                             endpoint.provider))
            for i, item in enumerate(raw)
        )
        usage = usage_from_gemini(data.get("usageMetadata"))
        options.after({"count": len(embeddings), "usageMetadata": data.get("usageMetadata")})
        return EmbeddingResult(embeddings=embeddings, usage=usage, model=options.model)
