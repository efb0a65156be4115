"""``POST /v1/chat/completions``: JSON or Server-Sent Events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gateway.api import render
from gateway.api.deps import authorize, call_info, reserve_chat, service
from gateway.api.parsed import GatewayRoute
from gateway.api.responses import JSONResponse
from gateway.api.sse import PING, SSEResponse, close_stream, first_event
from gateway.api.translate import to_chat_call
from gateway.core.requests import ChatCall
from gateway.core.results import ReasoningDelta, StreamEnd, StreamEvent, TextDelta, ToolCallEvent
from gateway.errors import GatewayError
from gateway.schemas.openai import ChatCompletionRequest
from gateway.schemas.responses import CHAT_STREAM_EVENT, ChatCompletionResponse
from gateway.service.gateway import GatewayService, internal_error

router = APIRouter(route_class=GatewayRoute, dependencies=[Depends(authorize)])


_CHAT_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "model": ChatCompletionResponse,
    "content": {"text/event-stream": {"schema": CHAT_STREAM_EVENT}},
}}


@router.post("/v1/chat/completions", response_model=None, responses=_CHAT_RESPONSES)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, svc: GatewayService = Depends(service)
) -> Response:
    call = to_chat_call(body)
    await reserve_chat(request, call)
    info = call_info(request, "chat.completions", body.metadata)
    if not call.stream:
        result = await svc.chat(call, body.model, info)
        return JSONResponse(render.chat_completion(result, body.model, info.request_id))
    events = svc.stream_chat(call, body.model, info)
    ping = request.app.state.settings.sse_ping_seconds
    try:
        first = await first_event(events, ping)
    except BaseException:
        await events.aclose()
        raise
    frames = _frames(first, events, call, render.ChunkRenderer(body.model, info.request_id))
    return SSEResponse(frames, ping=ping, close=lambda: close_stream(events, first))


def _frame(renderer: render.ChunkRenderer, event: StreamEvent, call: ChatCall) -> bytes:
    """The bytes one event becomes; the final event's frames (finish, usage, ``[DONE]``) go as one write.
    The usage chunk the client asked for goes out only when the provider reported usage: a server that
    ignores ``stream_options.include_usage`` (llama.cpp) gets no invented zero counts."""
    if isinstance(event, TextDelta):
        return renderer.text(event)
    if isinstance(event, ToolCallEvent):
        return renderer.tool_call(event)
    if isinstance(event, ReasoningDelta):
        return renderer.reasoning(event.index, event.text)
    tail = renderer.finish(event.result)
    if call.include_usage and event.result.usage.total is not None:
        tail += renderer.usage(event.result.usage)
    return tail + render.DONE


async def _frames(pending: asyncio.Future[StreamEvent], events: AsyncGenerator[StreamEvent, None],
                  call: ChatCall, renderer: render.ChunkRenderer) -> AsyncGenerator[bytes, None]:
    """Relay events as SSE frames, a ``: ping`` first while the first event is still awaited; an
    error after the first byte goes out in-band. The frames end with the final event's: nothing more
    is asked of ``events``, so no ``: ping`` can follow ``[DONE]`` while the source winds down; the
    response closes ``events`` (and ``pending``) after its last byte."""
    try:
        if not pending.done():
            yield PING
        first = await pending
        yield _frame(renderer, first, call)
        if isinstance(first, StreamEnd):
            return
        async for event in events:
            yield _frame(renderer, event, call)
            if isinstance(event, StreamEnd):
                return
    except GatewayError as exc:
        yield render.error_frame(exc.envelope())
    except Exception as exc:
        yield render.error_frame(internal_error(exc).envelope())
