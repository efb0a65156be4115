"""``GET /models`` on OpenAI-format APIs: the free call behind credential checks and model listing.

Reference: OpenAI API, "List models" (``{"object": "list", "data": [{"id", "object", "created",
"owned_by"}]}``); Azure, the OpenAI-compatible presets and llama.cpp answer in the same shape.
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.callers.base import CallerContext
from gateway.callers.http import malformed, request_json
from gateway.callers.openai.wire import OpenAIWire
from gateway.core.results import ListedModel


async def get_models(ctx: CallerContext, wire: OpenAIWire, path: str = "models") -> tuple[Any, httpx.Headers]:
    """``GET {base_url}/{path}``: the parsed body and the headers; raises the mapped ``GatewayError``."""
    return await request_json(ctx.http, "GET", wire.url(path), provider=wire.provider, timeouts=ctx.timeouts,
                              headers=wire.headers, params=wire.query)


def listed_models(body: Any, provider: str) -> tuple[ListedModel, ...]:
    """The entries of a list-models body that have a string ``id``; raises ``UpstreamError``
    (malformed) when ``data`` is not a list."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise malformed(provider, "no 'data' list in the models list")
    models = []
    for item in data:
        model_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(model_id, str) and model_id:
            created = item.get("created")
            models.append(ListedModel(model_id, created if type(created) is int else None))
    return tuple(models)


class OpenAIModelLister:
    """``ModelLister`` over an OpenAI wire."""

    def __init__(self, ctx: CallerContext, wire: OpenAIWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def list_models(self) -> tuple[ListedModel, ...]:
        body, _ = await get_models(self._ctx, self._wire)
        return listed_models(body, self._wire.provider)
