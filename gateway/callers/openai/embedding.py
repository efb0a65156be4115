"""``EmbeddingCaller`` for OpenAI-format ``/embeddings`` APIs.

Upstream vectors are requested as floats (every compatible server supports
that); the API layer re-encodes them as the client asked.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import Any

from gateway.callers.base import CallerContext, EmbeddingOptions
from gateway.callers.http import malformed, request_json
from gateway.callers.openai.wire import OpenAIWire
from gateway.core import params as p
from gateway.core.results import Embedding, EmbeddingResult, Usage
from gateway.errors import UnsupportedParameterError

EMBEDDING_PARAMETERS = frozenset({p.NAME, p.DIMENSIONS, p.USER, p.ENCODING_FORMAT})


def _vector(raw: Any, provider: str) -> tuple[float, ...]:
    if isinstance(raw, list):
        return tuple(float(x) for x in raw)
    if isinstance(raw, str):
        data = base64.b64decode(raw)
        return struct.unpack(f"<{len(data) // 4}f", data)
    raise malformed(provider, "embedding is neither a list nor base64")


class OpenAIEmbeddingCaller:
    def __init__(self, ctx: CallerContext, wire: OpenAIWire) -> None:
        self._ctx = ctx
        self._wire = wire

    def _body(self, inputs: Sequence[str], options: EmbeddingOptions) -> dict[str, Any]:
        mp = options.model_parameter
        given = list(inputs) if options.token_input is None else options.token_input
        body: dict[str, Any] = {"model": options.model, "input": given, "encoding_format": "float"}
        if (dimensions := mp.get_int(p.DIMENSIONS)) is not None:
            if not self._wire.quirks.embedding_dimensions:
                raise UnsupportedParameterError("dimensions", self._wire.provider)
            body["dimensions"] = dimensions
        if (user := mp.get_str(p.USER)) is not None:
            body["user"] = user
        return body

    async def get_embedding(self, inputs: Sequence[str], options: EmbeddingOptions) -> EmbeddingResult:
        wire = self._wire
        body = self._body(inputs, options)
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url("embeddings", options.model), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, params=wire.query, json=body,
        )
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise malformed(wire.provider, "no 'data' in the embeddings response")
        embeddings = tuple(
            Embedding(index=int(item.get("index", i)), vector=_vector(item.get("embedding"), wire.provider))
            for i, item in enumerate(data["data"])
        )
        usage = data.get("usage") or {}
        options.after({"model": data.get("model"), "usage": usage, "count": len(embeddings)})
        return EmbeddingResult(
            embeddings=tuple(sorted(embeddings, key=lambda e: e.index)),
            usage=Usage(input_tokens=usage.get("prompt_tokens"), output_tokens=0,
                        total_tokens=usage.get("total_tokens")),
            model=data.get("model"),
        )
