"""Neutral results -> OpenAI response objects and stream chunks.

Only this module (and ``sse``) builds what the client receives.
"""

from __future__ import annotations

import base64
import struct
import time
from typing import Any

from gateway.core.json import dumps
from gateway.core.messages import ToolCall
from gateway.core.results import (
    ChatResult,
    Choice,
    EmbeddingResult,
    RerankResult,
    TextDelta,
    ToolCallEvent,
    Usage,
)


def usage_object(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens or 0,
        "completion_tokens": usage.output_tokens or 0,
        "total_tokens": usage.total or 0,
    }
    if usage.cached_input_tokens is not None:
        out["prompt_tokens_details"] = {"cached_tokens": usage.cached_input_tokens}
    if usage.reasoning_tokens is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out


def _tool_call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _choice(choice: Choice) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": choice.content, "refusal": choice.refusal}
    if choice.tool_calls:
        message["tool_calls"] = [_tool_call(c) for c in choice.tool_calls]
    if choice.reasoning:
        message["reasoning_content"] = choice.reasoning
    return {
        "index": choice.index,
        "message": message,
        "logprobs": choice.logprobs,
        "finish_reason": choice.finish_reason or "stop",
    }


def completion_id(request_id: str) -> str:
    return "chatcmpl-" + request_id.removeprefix("req_")


def _completion_body(kind: str, id_: str, model: str, choices: list[dict[str, Any]],
                     result: ChatResult) -> dict[str, Any]:
    """What a ``chat.completion`` and a ``text_completion`` share: id, object, created, model,
    choices, usage and, when the provider gave one, ``system_fingerprint``."""
    body: dict[str, Any] = {"id": id_, "object": kind, "created": int(time.time()), "model": model,
                            "choices": choices, "usage": usage_object(result.usage)}
    if result.system_fingerprint:
        body["system_fingerprint"] = result.system_fingerprint
    return body


def chat_completion(result: ChatResult, model: str, request_id: str) -> dict[str, Any]:
    body = _completion_body("chat.completion", completion_id(request_id), model,
                            [_choice(c) for c in result.choices], result)
    if result.service_tier:
        body["service_tier"] = result.service_tier
    return body


class ChunkRenderer:
    """Builds the ``data:`` frames of one stream; every chunk shares id, created and model."""

    def __init__(self, model: str, request_id: str) -> None:
        self._head = {
            "id": completion_id(request_id),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        self._opened: set[int] = set()

    def _frame(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + dumps({**self._head, "choices": choices, **extra}) + b"\n\n"

    def _delta(self, index: int, delta: dict[str, Any], logprobs: Any = None) -> bytes:
        if index not in self._opened:
            self._opened.add(index)
            delta = {"role": "assistant", **delta}
        choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": None}
        if logprobs is not None:
            choice["logprobs"] = logprobs
        return self._frame([choice])

    def text(self, event: TextDelta) -> bytes:
        return self._delta(event.index, {"content": event.text}, event.logprobs)

    def reasoning(self, index: int, text: str) -> bytes:
        return self._delta(index, {"reasoning_content": text})

    def tool_call(self, event: ToolCallEvent) -> bytes:
        call = {"index": event.position, **_tool_call(event.tool_call)}
        return self._delta(event.index, {"tool_calls": [call]})

    def finish(self, result: ChatResult) -> bytes:
        """The closing chunk of each choice (opening any choice that sent nothing)."""
        choices = []
        for choice in result.choices:
            delta: dict[str, Any] = {}
            if choice.index not in self._opened:
                self._opened.add(choice.index)
                delta = {"role": "assistant", "content": ""}
            if choice.refusal:
                delta["refusal"] = choice.refusal
            choices.append({"index": choice.index, "delta": delta, "finish_reason": choice.finish_reason or "stop"})
        return self._frame(choices)

    def usage(self, usage: Usage) -> bytes:
        return self._frame([], usage=usage_object(usage))


DONE = b"data: [DONE]\n\n"


def error_frame(envelope: dict[str, Any]) -> bytes:
    return b"data: " + dumps(envelope) + b"\n\n"


def _encode_vector(vector: tuple[float, ...], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return list(vector)


def embedding_list(result: EmbeddingResult, model: str, encoding: str) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": e.index, "embedding": _encode_vector(e.vector, encoding)}
            for e in result.embeddings
        ],
        "model": model,
        "usage": {"prompt_tokens": result.usage.input_tokens or 0, "total_tokens": result.usage.total or 0},
    }


def rerank_response(result: RerankResult, model: str, request_id: str, documents: list[Any] | None,
                    ) -> dict[str, Any]:
    results = []
    for ranking in result.results:
        item: dict[str, Any] = {"index": ranking.index, "relevance_score": ranking.relevance_score}
        if documents is not None:
            document = documents[ranking.index]
            item["document"] = document if isinstance(document, dict) else {"text": document}
        results.append(item)
    usage: dict[str, Any] = {"total_tokens": result.usage.total or 0}
    if result.usage.input_tokens is not None:
        usage["prompt_tokens"] = result.usage.input_tokens
    return {"id": request_id, "object": "rerank", "model": model, "results": results, "usage": usage}


_TEXT_FINISH = {"length": "length", "content_filter": "content_filter"}
"""A legacy completion's finish reasons: ``stop``, ``length``, ``content_filter``."""


def text_completion_id(request_id: str) -> str:
    return "cmpl-" + request_id.removeprefix("req_")


def _text_choice(choice: Choice) -> dict[str, Any]:
    return {"text": choice.content or "", "index": choice.index, "logprobs": choice.logprobs,
            "finish_reason": _TEXT_FINISH.get(choice.finish_reason or "stop", "stop")}


def text_completion(result: ChatResult, model: str, request_id: str) -> dict[str, Any]:
    """A ``text_completion`` object (OpenAI's ``CreateCompletionResponse``)."""
    return _completion_body("text_completion", text_completion_id(request_id), model,
                            [_text_choice(c) for c in result.choices], result)


class TextChunkRenderer:
    """The ``data:`` frames of one legacy completion stream: ``text_completion`` chunks sharing id,
    created and model; each text delta its own chunk, then one chunk per choice with its finish reason."""

    def __init__(self, model: str, request_id: str) -> None:
        self._head = {"id": text_completion_id(request_id), "object": "text_completion",
                      "created": int(time.time()), "model": model}

    def _frame(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + dumps({**self._head, "choices": choices, **extra}) + b"\n\n"

    def text(self, event: TextDelta) -> bytes:
        return self._frame([{"text": event.text, "index": event.index, "logprobs": event.logprobs,
                             "finish_reason": None}])

    def finish(self, result: ChatResult) -> bytes:
        return self._frame([{**_text_choice(c), "text": "", "logprobs": None} for c in result.choices])

    def usage(self, usage: Usage) -> bytes:
        return self._frame([], usage=usage_object(usage))
