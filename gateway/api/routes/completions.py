"""``POST /v1/completions`` (legacy text completions): JSON or Server-Sent Events.

Native on providers that have the call (the body forwarded, ``model`` aside), through chat for
the rest (``gateway.service.completions``); the record's endpoint is ``completions``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gateway.api import render
from gateway.api.deps import authorize, call_info, reserve, service
from gateway.api.parsed import GatewayRoute
from gateway.api.responses import JSONResponse
from gateway.api.sse import SSEResponse
from gateway.api.translate import to_text_call
from gateway.core.requests import TextCall
from gateway.core.results import StreamEnd, StreamEvent, TextDelta
from gateway.errors import GatewayError
from gateway.schemas.openai import CompletionRequest
from gateway.schemas.responses import TEXT_COMPLETION_STREAM_EVENT, TextCompletionResponse
from gateway.service import estimate
from gateway.service.gateway import GatewayService, internal_error

router = APIRouter(route_class=GatewayRoute, dependencies=[Depends(authorize)])

_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "model": TextCompletionResponse,
    "content": {"text/event-stream": {"schema": TEXT_COMPLETION_STREAM_EVENT}},
}}


def _estimate(body: CompletionRequest, default_output: int) -> estimate.TokenEstimate:
    """The request's token estimate: its prompts (text by size, token ids by count) and, per
    prompt, ``n`` times its output limit (else the configured default)."""
    prompt = body.prompt
    if isinstance(prompt, str):
        prompts: list[int] = [estimate.text_tokens(prompt)]
    elif all(isinstance(item, int) for item in prompt):
        prompts = [len(prompt)]
    else:
        prompts = [estimate.text_tokens(item) if isinstance(item, str) else len(item)  # type: ignore[arg-type]
                   for item in prompt]
    output = body.max_tokens if body.max_tokens is not None else default_output
    return estimate.TokenEstimate(sum(prompts), output * (body.n or 1) * len(prompts))


@router.post("/v1/completions", response_model=None, responses=_RESPONSES)
async def completions(body: CompletionRequest, request: Request,
                      svc: GatewayService = Depends(service)) -> Response:
    call = to_text_call(body)
    await reserve(request, _estimate(body, request.app.state.settings.tpm_default_output_tokens))
    info = call_info(request, "completions")
    if not call.stream:
        result = await svc.complete(call, body.model, info)
        return JSONResponse(render.text_completion(result, body.model, info.request_id))
    events = svc.stream_complete(call, body.model, info)
    try:
        first = await anext(events)
    except BaseException:
        await events.aclose()
        raise
    return SSEResponse(_frames(events, first, call, render.TextChunkRenderer(body.model, info.request_id)))


def _frame(renderer: render.TextChunkRenderer, event: StreamEvent, call: TextCall) -> bytes:
    """The bytes one event becomes (text only: a legacy completion has no tool calls or reasoning);
    the usage chunk goes out when the client asked and the provider reported usage."""
    if isinstance(event, TextDelta):
        return renderer.text(event)
    if not isinstance(event, StreamEnd):
        return b""
    tail = renderer.finish(event.result)
    if call.include_usage and event.result.usage.total is not None:
        tail += renderer.usage(event.result.usage)
    return tail + render.DONE


async def _chained(first: StreamEvent, rest: AsyncGenerator[StreamEvent, None]) -> AsyncGenerator[StreamEvent, None]:
    yield first
    if not isinstance(first, StreamEnd):
        async for event in rest:
            yield event


async def _frames(events: AsyncGenerator[StreamEvent, None], first: StreamEvent, call: TextCall,
                  renderer: render.TextChunkRenderer) -> AsyncGenerator[bytes, None]:
    """Relay events as SSE frames; an error after the first byte goes out in-band."""
    try:
        async for event in _chained(first, events):
            frame = _frame(renderer, event, call)
            if frame:
                yield frame
            if isinstance(event, StreamEnd):
                return
    except GatewayError as exc:
        yield render.error_frame(exc.envelope())
    except Exception as exc:
        yield render.error_frame(internal_error(exc).envelope())
    finally:
        await events.aclose()
