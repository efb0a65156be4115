"""``RerankingCaller`` for Voyage AI (POST /v1/rerank).

Reference: Voyage AI API reference, "Rerankers": ``query``, ``documents``,
``model`` (required), ``top_k``, ``truncation``; the answer is ``data[{index,
relevance_score}]`` sorted by descending relevance, and ``usage.total_tokens``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import CallerContext, RerankerOptions
from gateway.callers.http import malformed, request_json
from gateway.callers.voyageai.embedding import TRUNCATION, token_usage
from gateway.callers.voyageai.wire import VoyageWire, parse_voyage_error, truncation
from gateway.core import params as p
from gateway.core.results import Ranking, RerankResult

RERANK_PARAMETERS = frozenset({p.NAME, p.TOP_N, TRUNCATION})


def _ranking(item: Any, count: int, provider: str) -> Ranking:
    index = item.get("index") if isinstance(item, dict) else None
    score = item.get("relevance_score") if isinstance(item, dict) else None
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
        raise malformed(provider, f"rerank result index {index!r} is not a document position")
    if not isinstance(score, int | float) or isinstance(score, bool):
        raise malformed(provider, "a rerank result has no numeric 'relevance_score'")
    return Ranking(index=index, relevance_score=float(score))


class VoyageRerankingCaller:
    def __init__(self, ctx: CallerContext, wire: VoyageWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_reranking(self, query: str, documents: Sequence[str], options: RerankerOptions) -> RerankResult:
        """Results most relevant first; ``index`` points into ``documents``."""
        wire = self._wire
        mp = options.model_parameter
        body: dict[str, Any] = {"query": query, "documents": list(documents), "model": options.model}
        if (top_k := mp.get_int(p.TOP_N)) is not None:
            body["top_k"] = top_k
        body.update(truncation(mp.get_bool(TRUNCATION)))
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url("rerank"), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_voyage_error,
        )
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise malformed(wire.provider, "no 'data' in the rerank response")
        options.after(data)
        results = sorted((_ranking(item, len(documents), wire.provider) for item in items),
                         key=lambda r: -r.relevance_score)
        return RerankResult(results=tuple(results), usage=token_usage(data), model=data.get("model") or options.model)
