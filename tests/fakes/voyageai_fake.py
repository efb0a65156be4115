"""A fake Voyage AI API (/v1/embeddings, /v1/rerank) as its reference documents it.

Embeddings are deterministic per input (floats, or base64 of little-endian
float32 when ``encoding_format`` is ``base64`` as the SDK asks); rerank scores
documents by shared words with the query. Only the key ``pa-test`` is accepted
(401 ``{"detail": ...}`` otherwise); a missing ``model`` is a 400, as upstream.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

from starlette.requests import Request

from tests.fakes.server import FakeUpstream, Scripted

VALID_KEY = "pa-test"


def voyage_error(status: int, detail: Any, headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(status=status, json={"detail": detail}, headers=headers or {})


def fake_vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(("voyage:" + text).encode()).digest()
    return [round((digest[i % len(digest)] - 128) / 128, 6) for i in range(dims)]


def relevance(query: str, document: str) -> float:
    words = set(query.lower().split())
    return round(len(words & set(document.lower().split())) / max(len(words), 1), 4)


def _tokens(*texts: str) -> int:
    return sum(len(t.split()) for t in texts)


class FakeVoyage(FakeUpstream):
    def routes(self) -> None:
        self.route("/v1/embeddings", self._embeddings)
        self.route("/v1/rerank", self._rerank)

    def _check(self, request: Request, body: Any) -> Scripted | None:
        if request.headers.get("authorization") != f"Bearer {VALID_KEY}":
            return voyage_error(401, "Provided API key is invalid.")
        if not isinstance(body, dict) or not body.get("model"):
            return voyage_error(400, "Request body is missing the 'model' field.")
        return None

    def _embeddings(self, request: Request, body: Any) -> Scripted:
        if refused := self._check(request, body):
            return refused
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = body.get("output_dimension") or 8
        data = []
        for i, text in enumerate(inputs):
            vector = fake_vector(text, dims)
            encoded: Any = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            data.append({"object": "embedding", "embedding": encoded, "index": i})
        return Scripted(json={"object": "list", "data": data, "model": body["model"],
                              "usage": {"total_tokens": _tokens(*inputs)}})

    def _rerank(self, request: Request, body: Any) -> Scripted:
        if refused := self._check(request, body):
            return refused
        documents = body["documents"]
        scored = sorted(((i, relevance(body["query"], d)) for i, d in enumerate(documents)), key=lambda x: -x[1])
        top_k = body.get("top_k") or len(documents)
        data = [{"relevance_score": s, "index": i} for i, s in scored[:top_k]]
        return Scripted(json={"object": "list", "data": data, "model": body["model"],
                              "usage": {"total_tokens": _tokens(body["query"], *documents)}})
