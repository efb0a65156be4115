"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: the Anthropic Messages API.

A model whose provider relays the format (``FORMAT in ProviderSpec.natives``) gets the
body relayed as the client sent it, and the answer or stream relayed as the provider sent it;
any other provider gets the body translated to a neutral ``ChatCall`` (``anthropic.translate``)
and the neutral answer rendered (``anthropic.render``, ``anthropic.stream``). Fallbacks may mix
the two. Errors are Anthropic's envelope (``anthropic.errors``); after a stream's first byte,
an ``event: error`` frame, then the end.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gateway.api.anthropic import render
from gateway.api.anthropic.docs import COUNT_TOKENS_RESPONSES, MESSAGES_RESPONSES
from gateway.api.anthropic.errors import error_frame
from gateway.api.anthropic.schemas import CountTokensRequest, MessagesRequest
from gateway.api.anthropic.stream import StreamRenderer
from gateway.api.anthropic.translate import to_chat_call, to_prompt
from gateway.api.deps import authorize, call_info, reserve, service
from gateway.api.parsed import GatewayRoute, parsed_body
from gateway.api.responses import JSONResponse
from gateway.api.sse import SSEResponse
from gateway.api.translate import deferred
from gateway.core.native import NativeEnd, NativeEvent, NativeFrame, NativeReply, NativeRequest
from gateway.core.requests import ChatCall
from gateway.core.results import StreamEnd, StreamEvent
from gateway.errors import GatewayError
from gateway.service import estimate
from gateway.service.estimate import TokenEstimate
from gateway.service.gateway import GatewayService, internal_error

router = APIRouter(route_class=GatewayRoute, dependencies=[Depends(authorize)])

FORMAT = "anthropic-messages"
"""The wire format of these routes, as the providers that speak it declare it."""

FORMAT_HEADER_PREFIX = "anthropic-"
"""Client headers of the format (``anthropic-version``, ``anthropic-beta``), offered to the relay."""


async def _native(request: Request, stream: bool) -> NativeRequest:
    body = await parsed_body(request)
    headers = {k: v for k, v in request.headers.items() if k.lower().startswith(FORMAT_HEADER_PREFIX)}
    return NativeRequest(FORMAT, body, headers, stream)


def _estimate(request: Request, call: ChatCall | None, native: NativeRequest, limit: int) -> TokenEstimate:
    if call is not None:
        return estimate.chat(call, request.app.state.settings.tpm_default_output_tokens)
    return TokenEstimate(estimate.text_tokens(orjson.dumps(dict(native.body)).decode()), limit)


@router.post("/v1/messages", response_model=None, responses=MESSAGES_RESPONSES)
async def create_message(body: MessagesRequest, request: Request,
                         svc: GatewayService = Depends(service)) -> Response:
    native = await _native(request, bool(body.stream))
    translate, call = deferred(lambda: to_chat_call(body))
    await reserve(request, _estimate(request, call, native, body.max_tokens))
    metadata = body.metadata.model_dump(exclude_none=True) if body.metadata is not None else None
    info = call_info(request, "messages", metadata)
    if not native.stream:
        result = await svc.chat_or_native(translate, native, body.model, info)
        if isinstance(result, NativeReply):
            return Response(result.body, media_type="application/json")
        return JSONResponse(render.message(result, body.model, info.request_id))
    events = svc.stream_chat_or_native(translate, native, body.model, info)
    try:
        first = await anext(events)
    except BaseException:
        await events.aclose()
        raise
    return SSEResponse(_frames(events, first, StreamRenderer(body.model, info.request_id)))


def _frame(renderer: StreamRenderer, item: StreamEvent | NativeEvent) -> bytes:
    if isinstance(item, NativeFrame):
        return item.data
    if isinstance(item, NativeEnd):
        return b""
    return renderer.render(item)


async def _frames(events: AsyncGenerator[StreamEvent | NativeEvent, None], first: StreamEvent | NativeEvent,
                  renderer: StreamRenderer) -> AsyncGenerator[bytes, None]:
    """Relay frames, or render events as frames; an error after the first byte goes out in-band."""
    try:
        head = b"" if isinstance(first, NativeFrame | NativeEnd) else renderer.start()
        yield head + _frame(renderer, first)
        if isinstance(first, StreamEnd | NativeEnd):
            return
        async for item in events:
            data = _frame(renderer, item)
            if data:
                yield data
    except GatewayError as exc:
        yield error_frame(exc)
    except Exception as exc:
        yield error_frame(internal_error(exc))
    finally:
        await events.aclose()


@router.post("/v1/messages/count_tokens", response_model=None, responses=COUNT_TOKENS_RESPONSES)
async def count_tokens(body: CountTokensRequest, request: Request,
                       svc: GatewayService = Depends(service)) -> Response:
    """The provider's own count where it has one (a provider speaking the format, or one with a
    token-count call); otherwise the gateway's estimate (one token per four bytes of text, see
    ``gateway.service.estimate``)."""
    native = await _native(request, False)

    def prompt() -> ChatCall:
        messages, tools = to_prompt(body)
        return ChatCall(messages, {}, tools, False, False)

    info = call_info(request, "messages.count_tokens")
    tokens = await svc.count_tokens(native, prompt, body.model, info)
    return JSONResponse({"input_tokens": tokens})
