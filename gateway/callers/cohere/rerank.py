"""``RerankingCaller`` for Cohere's v2 Rerank API (POST /v2/rerank).

Reference: Cohere API reference, "Rerank" (v2): ``model``, ``query``,
``documents`` (strings), ``top_n``; the answer is ``results[{index,
relevance_score}]``, "an ordered list of ranked documents" whose ``index``
points into the documents as sent. Billing is in ``meta.billed_units.search_units``,
which are not tokens, so no token count is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import CallerContext, RerankerOptions
from gateway.callers.cohere.wire import CohereWire, parse_cohere_error
from gateway.callers.http import malformed, request_json
from gateway.core import params as p
from gateway.core.results import Ranking, RerankResult

RERANK_PARAMETERS = frozenset({p.NAME, p.TOP_N})


def rankings(raw: Any, count: int, provider: str) -> tuple[Ranking, ...]:
    """Validated rankings, most relevant first (a stable sort keeps the provider's order of ties).

    Raises ``UpstreamError`` (malformed) for an index outside ``range(count)``.
    """
    if not isinstance(raw, list):
        raise malformed(provider, "no result list in the rerank response")
    out: list[Ranking] = []
    for item in raw:
        index = item.get("index") if isinstance(item, dict) else None
        score = item.get("relevance_score") if isinstance(item, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
            raise malformed(provider, f"rerank result index {index!r} is not a document position")
        if not isinstance(score, int | float) or isinstance(score, bool):
            raise malformed(provider, "a rerank result has no numeric 'relevance_score'")
        out.append(Ranking(index=index, relevance_score=float(score)))
    return tuple(sorted(out, key=lambda r: -r.relevance_score))


class CohereRerankingCaller:
    def __init__(self, ctx: CallerContext, wire: CohereWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_reranking(self, query: str, documents: Sequence[str], options: RerankerOptions) -> RerankResult:
        wire = self._wire
        body: dict[str, Any] = {"model": options.model, "query": query, "documents": list(documents)}
        if (top_n := options.model_parameter.get_int(p.TOP_N)) is not None:
            body["top_n"] = top_n
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url("v2/rerank"), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_cohere_error,
        )
        if not isinstance(data, dict):
            raise malformed(wire.provider, "the rerank response is not an object")
        options.after(data)
        results = rankings(data.get("results"), len(documents), wire.provider)
        return RerankResult(results=results, model=options.model, provider_request_id=data.get("id"))
