"""``/v1/responses``: create (JSON or the named-event stream), retrieve, delete, list input items.

Every provider is served by translation: the request becomes a neutral ``ChatCall`` for
``GatewayService`` (records name the endpoint ``responses``). With ``store`` (the default) the
response and the conversation it continued are kept in the database, visible only to the
gateway key that created them (and to the master key).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from gateway.api.deps import authorize, call_info, reserve_chat, service
from gateway.api.responses import JSONResponse
from gateway.api.responses_api import render
from gateway.api.responses_api.docs import RESPONSE_STREAM_EVENT, InputItemList, ResponseDeleted, ResponseObject
from gateway.api.responses_api.items import input_list, new_id, stored_items
from gateway.api.responses_api.schemas import ResponseCreateRequest
from gateway.api.responses_api.translate import to_chat_call
from gateway.api.sse import SSEResponse
from gateway.core.requests import ChatCall
from gateway.core.results import StreamEnd, StreamEvent
from gateway.errors import GatewayError, NotFoundError
from gateway.schemas.responses import ok
from gateway.service.gateway import GatewayService, internal_error
from gateway.service.keys import Principal
from gateway.store.responses import ResponseStore, StoredResponse

router = APIRouter(dependencies=[Depends(authorize)])

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
    principal: Principal = request.state.principal
    if stored is None or not (principal.admin or stored.key_id == _owner(request)):
        raise NotFoundError(f"Response with id '{response_id}' not found.", param=param)
    return stored


def _head(body: ResponseCreateRequest, call: ChatCall) -> render.ResponseHead:
    fmt = body.text.format if body.text is not None else None
    return render.ResponseHead(
        id=new_id("resp_"), model=body.model, instructions=body.instructions, tools=call.tools,
        tool_choice=body.tool_choice if body.tool_choice is not None else "auto",
        parallel_tool_calls=body.parallel_tool_calls is not False, temperature=body.temperature,
        top_p=body.top_p, max_output_tokens=body.max_output_tokens, metadata=body.metadata or {},
        previous_response_id=body.previous_response_id, store=body.store is not False,
        text_format=fmt.model_dump(exclude_none=True, by_alias=True) if fmt is not None else {"type": "text"},
        reasoning_effort=body.reasoning.effort if body.reasoning is not None else None,
        user=body.user if body.user is not None else body.safety_identifier)


@router.post("/v1/responses", response_model=None, responses=_CREATE_RESPONSES)
async def create_response(body: ResponseCreateRequest, request: Request,
                          svc: GatewayService = Depends(service)) -> Response:
    history: list[dict[str, Any]] = []
    if body.previous_response_id is not None:
        history = (await _find(request, body.previous_response_id, "previous_response_id")).conversation()
    items = input_list(body.input)
    call = to_chat_call(body, history, items)
    await reserve_chat(request, call)
    info = call_info(request, "responses", body.metadata)
    head = _head(body, call)
    saved = StoredResponse(head.id, _owner(request), {}, [*history, *stored_items(items)])
    if not call.stream:
        result = await svc.chat(call, body.model, info)
        answer = render.response(head, result)
        await _save(request, head, saved, answer)
        return JSONResponse(answer)
    events = svc.stream_chat(call, body.model, info)
    try:
        first = await anext(events)
    except BaseException:
        await events.aclose()
        raise
    return SSEResponse(_frames(request, events, first, render.EventRenderer(head), saved))


async def _save(request: Request, head: render.ResponseHead, saved: StoredResponse, answer: dict[str, Any]) -> None:
    if head.store:
        stored = StoredResponse(saved.id, saved.key_id, answer, saved.input_items)
        await asyncio.to_thread(_store(request).save, stored)


async def _frames(request: Request, events: AsyncGenerator[StreamEvent, None], first: StreamEvent,
                  renderer: render.EventRenderer, saved: StoredResponse) -> AsyncGenerator[bytes, None]:
    """The stream's named events; the response is stored before its terminal event goes out, and an
    error after the first byte ends the stream with ``response.failed``."""
    try:
        yield renderer.start()
        event = first
        while not isinstance(event, StreamEnd):
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


@router.get("/v1/responses/{response_id}", response_model=None, responses=ok(ResponseObject))
async def get_response(response_id: str, request: Request) -> Response:
    return JSONResponse((await _find(request, response_id)).response)


@router.delete("/v1/responses/{response_id}", response_model=None, responses=ok(ResponseDeleted))
async def delete_response(response_id: str, request: Request) -> Response:
    await _find(request, response_id)
    await asyncio.to_thread(_store(request).delete, response_id)
    return JSONResponse({"id": response_id, "object": "response", "deleted": True})


@router.get("/v1/responses/{response_id}/input_items", response_model=None, responses=ok(InputItemList))
async def list_input_items(
    response_id: str, request: Request,
    limit: int = Query(default=20, ge=1, le=100),
    order: Literal["asc", "desc"] = Query(default="desc"),
    after: str | None = Query(default=None, description="an item id: list the items after it"),
) -> Response:
    items = (await _find(request, response_id)).input_items
    ordered = items if order == "asc" else items[::-1]
    if after is not None:
        ids = [item.get("id") for item in ordered]
        ordered = ordered[ids.index(after) + 1:] if after in ids else []
    page = ordered[:limit]
    return JSONResponse({"object": "list", "data": page, "first_id": page[0]["id"] if page else "",
                         "last_id": page[-1]["id"] if page else "", "has_more": len(ordered) > limit})
