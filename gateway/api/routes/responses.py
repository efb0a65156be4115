"""``/v1/responses``: create (JSON or the named-event stream), retrieve, delete, list input items.

A deployment whose provider relays the format (OpenAI, Azure's v1 API; ``responses_api:
native``) gets the body as the client sent it, the model aside, and its answer or stream is
relayed as the provider sent it. Every other deployment is served by translation: the request
becomes a neutral ``ChatCall`` for ``GatewayService`` and the neutral answer is rendered as a
Response. Records name the endpoint ``responses``.

With ``store`` (the default) the response and the conversation it continued are kept in the
database, visible only to the gateway key that created them (and to the master key); a relayed
one under the provider's id, with the provider that holds it, so reads and deletes go there. A
``previous_response_id`` reaches its provider as sent; any other deployment gets the stored
conversation inlined instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from gateway.api.deps import authorize, call_info, reserve, reserve_chat, service
from gateway.api.parsed import GatewayRoute, parsed_body
from gateway.api.responses import JSONResponse
from gateway.api.responses_api import render
from gateway.api.responses_api.docs import RESPONSE_STREAM_EVENT, InputItemList, ResponseDeleted, ResponseObject
from gateway.api.responses_api.items import input_list, new_id, stored_items
from gateway.api.responses_api.schemas import ResponseCreateRequest
from gateway.api.responses_api.translate import to_chat_call
from gateway.api.sse import SSEResponse
from gateway.api.translate import deferred
from gateway.callers.openai.responses import FORMAT, PASSED_HEADERS
from gateway.core.native import NativeEnd, NativeEvent, NativeFrame, NativeReply, NativeRequest
from gateway.core.requests import ChatCall
from gateway.core.results import StreamEnd, StreamEvent
from gateway.errors import GatewayError, NotFoundError
from gateway.schemas.responses import ok
from gateway.service import estimate
from gateway.service.estimate import TokenEstimate
from gateway.service.gateway import GatewayService, internal_error
from gateway.service.keys import Principal
from gateway.store.responses import ResponseStore, StoredResponse

router = APIRouter(route_class=GatewayRoute, dependencies=[Depends(authorize)])

_CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "model": ResponseObject,
    "content": {"text/event-stream": {"schema": RESPONSE_STREAM_EVENT}},
}}


def _store(request: Request) -> ResponseStore:
    store: ResponseStore = request.app.state.responses
    return store


def _owner(request: Request) -> str | None:
    principal: Principal = request.state.principal
    return principal.key.id if principal.key is not None else None


async def _find(request: Request, response_id: str, param: str | None = None) -> StoredResponse:
    """The stored response, if the caller may see it; a 404 otherwise (also for another key's)."""
    stored = await asyncio.to_thread(_store(request).get, response_id)
    if stored is None or not _visible(request, stored):
        raise NotFoundError(f"Response with id '{response_id}' not found.", param=param)
    return stored


def _head(body: ResponseCreateRequest, call: ChatCall, response_id: str) -> render.ResponseHead:
    fmt = body.text.format if body.text is not None else None
    return render.ResponseHead(
        id=response_id, model=body.model, instructions=body.instructions, tools=call.tools,
        tool_choice=body.tool_choice if body.tool_choice is not None else "auto",
        parallel_tool_calls=body.parallel_tool_calls is not False, temperature=body.temperature,
        top_p=body.top_p, max_output_tokens=body.max_output_tokens, metadata=body.metadata or {},
        previous_response_id=body.previous_response_id, store=body.store is not False,
        text_format=fmt.model_dump(exclude_none=True, by_alias=True) if fmt is not None else {"type": "text"},
        reasoning_effort=body.reasoning.effort if body.reasoning is not None else None,
        user=body.user if body.user is not None else body.safety_identifier)


def _visible(request: Request, stored: StoredResponse | None) -> bool:
    principal: Principal = request.state.principal
    return stored is not None and (principal.admin or stored.key_id == _owner(request))


async def _resolved(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` with each ``item_reference`` replaced by the stored item it names (an output item of a
    response the caller may see). An unknown one stays: the provider holding it may know it, and
    translation refuses it (``items.parse_item``)."""
    wanted = [str(item.get("id")) for item in items if item.get("type") == "item_reference"]
    if not wanted:
        return items
    store = _store(request)
    holders = await asyncio.to_thread(store.holders, wanted)
    found: dict[str, dict[str, Any]] = {}
    for item_id, response_ids in holders.items():
        for response_id in response_ids:
            stored = await asyncio.to_thread(store.get, response_id)
            item = stored.item(item_id) if stored is not None and _visible(request, stored) else None
            if item is not None:
                found[item_id] = item
                break
    return [found.get(str(item.get("id")), item) if item.get("type") == "item_reference" else item
            for item in items]


def _inlined(raw: dict[str, Any], history: list[dict[str, Any]], items: list[dict[str, Any]]) -> dict[str, Any]:
    """``raw`` with the stored conversation it continues written into ``input`` instead of
    ``previous_response_id`` (for a provider that does not hold that response)."""
    body = {k: v for k, v in raw.items() if k != "previous_response_id"}
    body["input"] = [*(_replayed(item) for item in history), *items]
    return body


def _replayed(item: dict[str, Any]) -> dict[str, Any]:
    """A stored item as input to a provider that never saw it: item ids are the store's, not its."""
    return {k: v for k, v in item.items() if k != "id"} if item.get("type") in _OWN_ID_ITEMS else item


_OWN_ID_ITEMS = frozenset({"message", "function_call", "function_call_output"})


async def _native(request: Request, previous: StoredResponse | None, history: list[dict[str, Any]],
                  items: list[dict[str, Any]], stream: bool) -> NativeRequest:
    raw = await parsed_body(request)
    headers = {k: v for k, v in request.headers.items() if k.lower() in PASSED_HEADERS}
    if previous is None:
        return NativeRequest(FORMAT, raw, headers, stream)
    inlined = _inlined(raw, history, items)
    if previous.provider is None:
        return NativeRequest(FORMAT, inlined, headers, stream)
    return NativeRequest(FORMAT, raw, headers, stream, held_by=previous.provider, unheld_body=inlined)


@router.post("/v1/responses", response_model=None, responses=_CREATE_RESPONSES)
async def create_response(body: ResponseCreateRequest, request: Request,
                          svc: GatewayService = Depends(service)) -> Response:
    previous = None
    if body.previous_response_id is not None:
        previous = await _find(request, body.previous_response_id, "previous_response_id")
    history = await _resolved(request, previous.conversation()) if previous else []
    items = await _resolved(request, input_list(body.input))
    translate, call = deferred(lambda: to_chat_call(body, history, items))
    native = await _native(request, previous, history, items, bool(body.stream))
    if call is not None:
        await reserve_chat(request, call)
    else:
        await reserve(request, TokenEstimate(estimate.text_tokens(orjson.dumps(native.body).decode()),
                                             body.max_output_tokens or 0))
    info = call_info(request, "responses", body.metadata)
    saved = StoredResponse(new_id("resp_"), _owner(request), {}, [*history, *stored_items(items)], model=body.model)
    if not body.stream:
        result = await svc.chat_or_native(translate, native, body.model, info)
        if isinstance(result, NativeReply):
            await _save_relayed(request, body, saved, orjson.loads(result.body), result.provider)
            return Response(result.body, media_type="application/json")
        head = _head(body, translate(), saved.id)
        answer = render.response(head, result)
        await _save(request, head, saved, answer)
        return JSONResponse(answer)
    events = svc.stream_chat_or_native(translate, native, body.model, info)
    try:
        first = await anext(events)
    except BaseException:
        await events.aclose()
        raise
    if isinstance(first, NativeFrame | NativeEnd):
        return SSEResponse(_relayed_frames(request, body, events, first, saved))
    renderer = render.EventRenderer(_head(body, translate(), saved.id))
    return SSEResponse(_frames(request, events, first, renderer, saved))


async def _save(request: Request, head: render.ResponseHead, saved: StoredResponse, answer: dict[str, Any]) -> None:
    if head.store:
        stored = StoredResponse(saved.id, saved.key_id, answer, saved.input_items, model=saved.model)
        await asyncio.to_thread(_store(request).save, stored)


async def _save_relayed(request: Request, body: ResponseCreateRequest, saved: StoredResponse, answer: Any,
                        provider: str | None) -> None:
    """Keep a relayed response the provider stored (its own id), for ``previous_response_id`` on any
    deployment and for reads and deletes, which go to ``provider``."""
    if body.store is False or not isinstance(answer, dict) or answer.get("store") is False:
        return
    response_id = answer.get("id")
    if not isinstance(response_id, str) or not response_id:
        return
    stored = StoredResponse(response_id, saved.key_id, answer, saved.input_items, provider, saved.model)
    await asyncio.to_thread(_store(request).save, stored)


async def _relayed_frames(request: Request, body: ResponseCreateRequest,
                          events: AsyncGenerator[StreamEvent | NativeEvent, None], first: StreamEvent | NativeEvent,
                          saved: StoredResponse) -> AsyncGenerator[bytes, None]:
    """The provider's events as it sent them; the response is stored before its terminal event
    goes out (the relay ends a broken stream with its own ``response.failed``)."""
    try:
        item = first
        while not isinstance(item, NativeEnd):
            assert isinstance(item, NativeFrame)
            if item.final is not None:
                await _save_relayed(request, body, saved, item.final, item.provider)
            yield item.data
            item = await anext(events)
    finally:
        await events.aclose()


async def _frames(request: Request, events: AsyncGenerator[StreamEvent | NativeEvent, None],
                  first: StreamEvent | NativeEvent, renderer: render.EventRenderer,
                  saved: StoredResponse) -> AsyncGenerator[bytes, None]:
    """The stream's named events; the response is stored before its terminal event goes out, and an
    error after the first byte ends the stream with ``response.failed``."""
    try:
        yield renderer.start()
        event = first
        while not isinstance(event, StreamEnd):
            assert not isinstance(event, NativeFrame | NativeEnd)
            yield renderer.event(event)
            event = await anext(events)
        frames, final = renderer.finish(event.result)
        await _save(request, renderer.head, saved, final)
        yield frames + renderer.terminal(final)
    except GatewayError as exc:
        yield renderer.failed(exc.status, exc.message)
    except Exception as exc:
        error = internal_error(exc)
        yield renderer.failed(error.status, error.message)
    finally:
        await events.aclose()


async def _relayed(request: Request, svc: GatewayService, stored: StoredResponse, method: str, path: str,
                   params: dict[str, str]) -> Response:
    assert stored.provider is not None and stored.model is not None
    reply = await svc.native_resource(FORMAT, stored.model, stored.provider, method, path, params,
                                      call_info(request, "responses"))
    return Response(reply.body, media_type="application/json")


@router.get("/v1/responses/{response_id}", response_model=None, responses=ok(ResponseObject))
async def get_response(response_id: str, request: Request, svc: GatewayService = Depends(service)) -> Response:
    """A relayed response is read from the provider holding it (its status may have moved on, as a
    ``background`` one's does); one the gateway made, from its store."""
    stored = await _find(request, response_id)
    if stored.provider is not None:
        return await _relayed(request, svc, stored, "GET", response_id, dict(request.query_params))
    return JSONResponse(stored.response)


@router.delete("/v1/responses/{response_id}", response_model=None, responses=ok(ResponseDeleted))
async def delete_response(response_id: str, request: Request, svc: GatewayService = Depends(service)) -> Response:
    """Deletes the stored copy and, for a relayed response, the provider's (first: a failure there
    keeps the copy, so the delete can be retried; a 404 there deletes the copy and answers 404)."""
    stored = await _find(request, response_id)
    if stored.provider is None:
        await asyncio.to_thread(_store(request).delete, response_id)
        return JSONResponse({"id": response_id, "object": "response", "deleted": True})
    try:
        answer = await _relayed(request, svc, stored, "DELETE", response_id, {})
    except NotFoundError:
        await asyncio.to_thread(_store(request).delete, response_id)
        raise
    await asyncio.to_thread(_store(request).delete, response_id)
    return answer


@router.get("/v1/responses/{response_id}/input_items", response_model=None, responses=ok(InputItemList))
async def list_input_items(
    response_id: str, request: Request,
    limit: int = Query(default=20, ge=1, le=100),
    order: Literal["asc", "desc"] = Query(default="desc"),
    after: str | None = Query(default=None, description="an item id: list the items after it"),
    svc: GatewayService = Depends(service),
) -> Response:
    stored = await _find(request, response_id)
    if stored.provider is not None:
        return await _relayed(request, svc, stored, "GET", f"{response_id}/input_items", dict(request.query_params))
    items = stored.input_items
    ordered = items if order == "asc" else items[::-1]
    if after is not None:
        ids = [item.get("id") for item in ordered]
        ordered = ordered[ids.index(after) + 1:] if after in ids else []
    page = ordered[:limit]
    return JSONResponse({"object": "list", "data": page, "first_id": page[0]["id"] if page else "",
                         "last_id": page[-1]["id"] if page else "", "has_more": len(ordered) > limit})
