"""``ModelLister`` for MiniMax: ``GET /v1/models`` (MiniMax docs, "Models": OpenAI's list shape; an
error may come as a 2xx ``base_resp``, raised as the error it names)."""

from __future__ import annotations

from gateway.callers.base import CallerContext
from gateway.callers.http import request_json
from gateway.callers.minimax.wire import MiniMaxWire, error_in_body, parse_minimax_error
from gateway.callers.openai.models import listed_models
from gateway.core.results import ListedModel


class MiniMaxModelLister:
    def __init__(self, ctx: CallerContext, wire: MiniMaxWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def list_models(self) -> tuple[ListedModel, ...]:
        wire = self._wire
        body, _ = await request_json(self._ctx.http, "GET", wire.url("models"), provider=wire.provider,
                                     timeouts=self._ctx.timeouts, headers=wire.headers, parse_error=parse_minimax_error)
        error = error_in_body(body)
        if error is not None:
            raise error
        return listed_models(body, wire.provider)
