"""A fake OpenAI Responses API (``/v1/responses``) on top of ``FakeOpenAI``, for the native relay.

It answers ``echo: <last user text>`` as a Response object, or as the named-event stream in the
spec's order (``response.created`` ... ``response.completed``, ``sequence_number`` from 0); keeps
stored responses (``store`` defaults to true) for ``GET``/``DELETE``/``input_items`` and for
``previous_response_id`` (an unknown one is OpenAI's 404 with ``param: previous_response_id``);
and counts input tokens (``POST /v1/responses/input_tokens``). Built-in tools are accepted, as
OpenAI accepts them: a ``web_search`` tool adds a ``web_search_call`` output item.
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.requests import Request

from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, openai_error
from tests.fakes.server import Scripted, sse

USAGE = {"input_tokens": 9, "input_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 0}, "output_tokens": 4,
         "output_tokens_details": {"reasoning_tokens": 1}, "total_tokens": 13}


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    text = ""
    for item in value or []:
        if item.get("role") == "user":
            content = item.get("content")
            text = content if isinstance(content, str) else " ".join(
                p.get("text", "") for p in content if p.get("type") == "input_text")
    return text


def response_object(response_id: str, body: dict[str, Any], output: list[dict[str, Any]], status: str,
                    usage: dict[str, Any] | None) -> dict[str, Any]:
    """A Response as OpenAI renders one, echoing the request's settings."""
    rendered = {
        "id": response_id, "object": "response", "created_at": 1_700_000_000, "status": status,
        "background": bool(body.get("background")), "error": None, "incomplete_details": None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"] + "-2024-07-18", "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True), "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}}, "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [], "top_p": body.get("top_p", 1.0), "truncation": "disabled",
        "metadata": body.get("metadata") or {},
    }
    if usage is not None:
        rendered["usage"] = usage
    return rendered


class FakeOpenAIResponses(FakeOpenAI):
    """``FakeOpenAI`` plus the Responses API under ``PREFIX``."""

    PREFIX = "/v1"

    def __init__(self) -> None:
        self.stored: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        self._ids = itertools.count(1)
        super().__init__()

    def routes(self) -> None:
        super().routes()
        base = self.PREFIX + "/responses"
        self.route(base, self._create)
        self.route(base + "/input_tokens", self._input_tokens)
        self.route(base + "/{response_id}", self._get, methods=("GET",))
        self.route(base + "/{response_id}", self._delete, methods=("DELETE",))
        self.route(base + "/{response_id}/input_items", self._input_items, methods=("GET",))

    def _missing(self, response_id: str, param: str | None = None) -> Scripted:
        scripted = openai_error(404, f"Response with id '{response_id}' not found.", "invalid_request_error",
                                "response_not_found" if param is None else "previous_response_not_found")
        scripted.json["error"]["param"] = param
        return scripted

    def _create(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        previous = body.get("previous_response_id")
        if previous is not None and previous not in self.stored:
            return self._missing(previous, "previous_response_id")
        n = next(self._ids)
        response_id, message_id = f"resp_up{n}", f"msg_up{n}"
        reply = f"echo: {_text_of(body.get('input'))}"
        output: list[dict[str, Any]] = []
        if any(t.get("type") == "web_search" for t in body.get("tools") or []):
            output.append({"id": f"ws_up{n}", "type": "web_search_call", "status": "completed",
                           "action": {"type": "search", "query": _text_of(body.get("input"))}})
        message = {"id": message_id, "type": "message", "role": "assistant", "status": "completed",
                   "content": [{"type": "output_text", "text": reply, "annotations": [], "logprobs": []}]}
        output.append(message)
        final = response_object(response_id, body, output, "completed", USAGE)
        if body.get("store", True):
            inputs = body.get("input")
            items = [{"type": "message", "role": "user", "content": inputs}] if isinstance(inputs, str) else inputs
            self.stored[response_id] = (final, [{"id": f"in_up{n}_{i}", **item} for i, item in enumerate(items)])
        if not body.get("stream"):
            return Scripted(json=final)
        return Scripted(stream=self._events(response_id, body, output, message, reply, final),
                        media_type="text/event-stream")

    @staticmethod
    def _events(response_id: str, body: dict[str, Any], output: list[dict[str, Any]], message: dict[str, Any],
                reply: str, final: dict[str, Any]) -> list[bytes]:
        snapshot = response_object(response_id, body, [], "in_progress", None)
        index = len(output) - 1
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        events: list[tuple[str, dict[str, Any]]] = [
            ("response.created", {"response": snapshot}),
            ("response.in_progress", {"response": snapshot}),
        ]
        for i, item in enumerate(output[:-1]):
            events += [("response.output_item.added", {"output_index": i, "item": item}),
                       ("response.output_item.done", {"output_index": i, "item": item})]
        ids = {"item_id": message["id"], "output_index": index, "content_index": 0}
        events += [
            ("response.output_item.added", {"output_index": index, "item": {**message, "status": "in_progress",
                                                                            "content": []}}),
            ("response.content_part.added", {**ids, "part": part}),
        ]
        words = [w + " " for w in reply.split(" ")]
        words[-1] = words[-1].rstrip()
        events += [("response.output_text.delta", {**ids, "delta": w, "logprobs": []}) for w in words]
        events += [
            ("response.output_text.done", {**ids, "text": reply, "logprobs": []}),
            ("response.content_part.done", {**ids, "part": {**part, "text": reply}}),
            ("response.output_item.done", {"output_index": index, "item": message}),
            ("response.completed", {"response": final}),
        ]
        return sse(((name, {"type": name, "sequence_number": seq, **data})
                    for seq, (name, data) in enumerate(events)), named=True)

    def _input_tokens(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        return Scripted(json={"object": "response.input_tokens", "input_tokens": len(_text_of(body["input"]).split())})

    def _stored(self, request: Request) -> tuple[str, Scripted | None]:
        response_id = request.path_params["response_id"]
        if not self._authorized(request):
            return response_id, self._unauthorized()
        return response_id, None if response_id in self.stored else self._missing(response_id)

    def _get(self, request: Request, body: Any) -> Scripted:
        response_id, refusal = self._stored(request)
        return refusal or Scripted(json=self.stored[response_id][0])

    def _delete(self, request: Request, body: Any) -> Scripted:
        response_id, refusal = self._stored(request)
        if refusal is not None:
            return refusal
        del self.stored[response_id]
        return Scripted(json={"id": response_id, "object": "response", "deleted": True})

    def _input_items(self, request: Request, body: Any) -> Scripted:
        response_id, refusal = self._stored(request)
        if refusal is not None:
            return refusal
        items = self.stored[response_id][1]
        ordered = items if request.query_params.get("order") == "asc" else items[::-1]
        return Scripted(json={"object": "list", "data": ordered, "first_id": ordered[0]["id"] if ordered else None,
                              "last_id": ordered[-1]["id"] if ordered else None, "has_more": False})


class FakeAzureResponses(FakeOpenAIResponses):
    """Azure's v1 API: the Responses API under ``/openai/v1``, the key in ``api-key``."""

    PREFIX = "/openai/v1"

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("api-key") == VALID_KEY
