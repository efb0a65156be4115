"""``ModelLister`` for Anthropic: ``GET /v1/models?limit=1000`` (Anthropic API, "List Models":
``{"data": [{"id", "type", "display_name", "created_at"}], "has_more", ...}``; 1000 is the largest
page, more than Anthropic has models, so one page is read; ``created_at`` is an RFC 3339 string,
not a Unix time, and is not passed on)."""

from __future__ import annotations

from gateway.callers.anthropic.errors import parse_anthropic_error
from gateway.callers.anthropic.wire import MODELS_PATH, AnthropicWire
from gateway.callers.base import CallerContext
from gateway.callers.http import request_json
from gateway.callers.openai.models import listed_models
from gateway.core.results import ListedModel


class AnthropicModelLister:
    def __init__(self, ctx: CallerContext, wire: AnthropicWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def list_models(self) -> tuple[ListedModel, ...]:
        wire = self._wire
        body, _ = await request_json(self._ctx.http, "GET", wire.url(MODELS_PATH), provider=wire.provider,
                                     timeouts=self._ctx.timeouts, headers=wire.headers, params={"limit": "1000"},
                                     parse_error=parse_anthropic_error)
        return listed_models(body, wire.provider)
