"""``ModelLister`` for Mistral: ``GET /v1/models`` (Mistral API, "List Models": ``{"data": [{"id", "created"}]}``)."""

from __future__ import annotations

from gateway.callers.base import CallerContext
from gateway.callers.http import request_json
from gateway.callers.mistral.wire import MistralWire, parse_mistral_error
from gateway.callers.openai.models import listed_models
from gateway.core.results import ListedModel


class MistralModelLister:
    def __init__(self, ctx: CallerContext, wire: MistralWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def list_models(self) -> tuple[ListedModel, ...]:
        wire = self._wire
        body, _ = await request_json(self._ctx.http, "GET", wire.url("models"), provider=wire.provider,
                                     timeouts=self._ctx.timeouts, headers=wire.headers, parse_error=parse_mistral_error)
        return listed_models(body, wire.provider)
