"""``EmbeddingCaller`` for HF Inference feature extraction.

Reference: Hugging Face docs, Inference Providers, "Feature Extraction":
``POST {inference_url}/models/{model}/pipeline/feature-extraction`` (``model``: ``[org/]name``) with
``{"inputs": [...], "normalize"?, "truncate"?, "prompt_name"?}`` (parameters at
the root of the body) answers an array with one vector per input.

A model that is not a sentence-embedding model answers token-level features
(one list of vectors per input). We do not pool those ourselves: which pooling
fits (mean, CLS, last token) depends on how the model was trained, so a guess
would silently give poor vectors. Such an answer is a clear 400 instead.
Feature extraction reports no token counts, so ``Usage`` stays unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import CallerContext, EmbeddingOptions
from gateway.callers.http import join_url, malformed, request_json
from gateway.callers.huggingface.endpoints import NAME, auth_headers, endpoints
from gateway.callers.huggingface.errors import parse_hf_error
from gateway.callers.paths import segments
from gateway.core import params as p
from gateway.core.params import ModelParameters
from gateway.core.results import Embedding, EmbeddingResult, Usage
from gateway.errors import InvalidRequestError

NORMALIZE = "model.normalize"
TRUNCATE = "model.truncate"
PROMPT_NAME = "model.prompt_name"

EMBEDDING_PARAMETERS = frozenset({p.NAME, NORMALIZE, TRUNCATE, PROMPT_NAME})


def feature_extraction_body(inputs: Sequence[str], mp: ModelParameters) -> dict[str, Any]:
    body: dict[str, Any] = {"inputs": list(inputs)}
    for key in (NORMALIZE, TRUNCATE):
        if (flag := mp.get_bool(key)) is not None:
            body[p.field_name(key)] = flag
    if (prompt_name := mp.get_str(PROMPT_NAME)) is not None:
        body["prompt_name"] = prompt_name
    return body


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_vectors(body: Any, count: int, model: str) -> list[tuple[float, ...]]:
    """One vector per input; raises for token-level or malformed answers."""
    if isinstance(body, list) and count == 1 and body and all(_is_number(x) for x in body):
        return [tuple(float(x) for x in body)]
    if not isinstance(body, list) or len(body) != count:
        raise malformed(NAME, f"expected {count} embedding(s) from feature extraction")
    vectors: list[tuple[float, ...]] = []
    for item in body:
        if isinstance(item, list) and item and all(_is_number(x) for x in item):
            vectors.append(tuple(float(x) for x in item))
        elif isinstance(item, list) and item and all(isinstance(x, list) for x in item):
            raise InvalidRequestError(
                f"{NAME}: model '{model}' returns token-level features, not one sentence embedding per input; "
                "use a sentence-embedding model (sentence-transformers or text-embeddings-inference).",
                param="model", code="unsupported_model_output", provider=NAME,
            )
        else:
            raise malformed(NAME, "an embedding is not a list of numbers")
    return vectors


def model_path(model: str) -> str:
    """A Hub model id, ``name`` or ``org/name``, as URL path segments, each percent-encoded
    (``gateway.callers.paths.segments``); more parts, or an empty, ``.`` or ``..`` part,
    raise ``InvalidRequestError`` (param ``model``)."""
    return segments(model, NAME, most=2)


class HuggingFaceEmbeddingCaller:
    def __init__(self, ctx: CallerContext) -> None:
        self._ctx = ctx

    async def get_embedding(self, inputs: Sequence[str], options: EmbeddingOptions) -> EmbeddingResult:
        model = options.model
        credential = self._ctx.credential
        body = feature_extraction_body(inputs, options.model_parameter)
        options.before(body)
        url = join_url(endpoints(credential).inference, f"models/{model_path(model)}/pipeline/feature-extraction")
        data, _ = await request_json(
            self._ctx.http, "POST", url, provider=NAME, timeouts=self._ctx.timeouts,
            headers=auth_headers(credential), json=body, parse_error=parse_hf_error,
        )
        vectors = parse_vectors(data, len(inputs), model)
        options.after({"model": model, "count": len(vectors)})
        return EmbeddingResult(
            embeddings=tuple(Embedding(index=i, vector=v) for i, v in enumerate(vectors)),
            usage=Usage(),
            model=model,
        )
