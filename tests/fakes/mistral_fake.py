"""A fake Mistral API (chat completions, embeddings, models) as its reference documents it.

It is as strict as the real service where that matters to a caller: unknown
request fields are refused with 422 (``extra_forbidden``, as Mistral does for
``stream_options``, ``seed`` or ``max_completion_tokens``), tool call ids must
be 9 alphanumeric characters (400), and only the key ``mistral-test`` passes.
Default behaviour, unless a test scripts an answer: chat echoes the last user
text; ``tool_choice`` ``any`` or a named function calls a tool (two calls in
one stream chunk, both with ``index`` 0, as Mistral does); ``reasoning_effort:
high`` adds a thinking chunk; streams put usage on the last chunk.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from starlette.requests import Request

from tests.fakes.server import FakeUpstream, Scripted, sse

VALID_KEY = "mistral-test"
MODEL = "mistral-small-latest"
CHAT_FIELDS = frozenset({
    "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "metadata",
    "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction",
    "parallel_tool_calls", "reasoning_effort", "prompt_mode", "safe_prompt",
})
EMBEDDING_FIELDS = frozenset({"model", "input", "output_dimension", "output_dtype", "encoding_format", "metadata"})
_ID = re.compile(r"[A-Za-z0-9]{9}")


def mistral_error(status: int, message: str, type_: str = "invalid_request_error", code: str | None = None,
                  headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(status=status, headers=headers or {},
                    json={"object": "error", "message": message, "type": type_, "param": None, "code": code})


def validation_error(fields: list[str]) -> Scripted:
    detail = [{"type": "extra_forbidden", "loc": ["body", f], "msg": "Extra inputs are not permitted", "input": None}
              for f in fields]
    return Scripted(status=422, json={"object": "error", "message": {"detail": detail},
                                      "type": "invalid_request_error", "param": None, "code": None})


def usage(prompt: int = 12, completion: int = 5) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion(content: Any = "Hello!", *, tool_calls: list[dict[str, Any]] | None = None,
               finish_reason: str = "stop", prompt: int = 12, completion_tokens: int = 5) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, "tool_calls": tool_calls, "prefix": False}
    return {"id": "cmpl-m1", "object": "chat.completion", "created": 1_700_000_000, "model": MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": usage(prompt, completion_tokens)}


def chunk(delta: dict[str, Any], finish_reason: str | None = None, *,
          usage_: dict[str, int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": "cmpl-m1", "object": "chat.completion.chunk", "created": 1_700_000_000,
                           "model": MODEL, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
    if usage_ is not None:
        out["usage"] = usage_
    return out


def text_stream(pieces: list[Any], *, done: bool = True, finish: str = "stop") -> list[bytes]:
    """Mistral's shape: a role chunk, one chunk per piece, then the finish chunk with usage."""
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in pieces]
    events.append(chunk({"content": ""}, finish, usage_=usage(12, len(pieces))))
    return sse(events, done=done)


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "index": 0, "function": {"name": name, "arguments": arguments}}


def tool_stream(calls: list[dict[str, Any]]) -> list[bytes]:
    """All calls whole in one chunk, every one with ``index`` 0."""
    return sse([chunk({"role": "assistant", "content": ""}), chunk({"content": "", "tool_calls": calls}),
                chunk({"content": ""}, "tool_calls", usage_=usage(20, 9))], done=True)


def fake_vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % len(digest)] - 128) / 128, 6) for i in range(dims)]


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    text = ""
    for message in messages:
        if message.get("role") == "user":
            content = message["content"]
            text = content if isinstance(content, str) else " ".join(
                c.get("text", "") for c in content if c.get("type") == "text")
    return text


def _bad_tool_id(messages: list[dict[str, Any]]) -> str | None:
    for message in messages:
        ids: list[str] = [c.get("id", "") for c in message.get("tool_calls") or ()]
        if message.get("role") == "tool":
            ids.append(message.get("tool_call_id", ""))
        for call_id in ids:
            if not _ID.fullmatch(call_id):
                return call_id
    return None


class FakeMistral(FakeUpstream):
    def routes(self) -> None:
        self.route("/v1/chat/completions", self._chat)
        self.route("/v1/embeddings", self._embeddings)
        self.route("/v1/models", self._models, methods=("GET",))

    def _refusal(self, request: Request, body: Any, allowed: frozenset[str]) -> Scripted | None:
        if request.headers.get("authorization") != f"Bearer {VALID_KEY}":
            return Scripted(status=401, json={"message": "Unauthorized", "request_id": "req-fake"})
        if body is None:
            return None
        extra = sorted(set(body) - allowed)
        return validation_error(extra) if extra else None

    def _chat(self, request: Request, body: Any) -> Scripted:
        refusal = self._refusal(request, body, CHAT_FIELDS)
        if refusal is not None:
            return refusal
        bad = _bad_tool_id(body["messages"])
        if bad is not None:
            return mistral_error(400, f"Tool call id was {bad} but must be a-z, A-Z, 0-9, with a length of 9.",
                                 "invalid_function_call", "3280")
        choice = body.get("tool_choice")
        if choice == "any" or isinstance(choice, dict):
            return self._tool_answer(body, choice)
        text = _last_user_text(body["messages"])
        reply = f"echo: {text}"
        if (body.get("response_format") or {}).get("type") in ("json_object", "json_schema"):
            reply = '{"echo": "' + text.replace('"', "") + '"}'
        thinking = body.get("reasoning_effort") == "high"
        if body.get("stream"):
            words = [w + " " for w in reply.split(" ")]
            words[-1] = words[-1].rstrip()
            pieces: list[Any] = words
            if thinking:
                pieces = [[{"type": "thinking", "thinking": [{"type": "text", "text": "Let me think."}]}], *words]
            return Scripted(stream=text_stream(pieces), media_type="text/event-stream")
        content: Any = reply
        if thinking:
            content = [{"type": "thinking", "thinking": [{"type": "text", "text": "Let me think."}]},
                       {"type": "text", "text": reply}]
        return Scripted(json=completion(content))

    def _tool_answer(self, body: dict[str, Any], choice: Any) -> Scripted:
        names = [t["function"]["name"] for t in body.get("tools") or ()]
        if isinstance(choice, dict):
            names = [choice["function"]["name"]]
        calls = [tool_call("aB3xK9mP2", names[0], '{"city": "Paris"}')]
        if len(names) > 1:
            calls.append(tool_call("Zq7Wn4Rt8", names[1], '{"city": "Rome"}'))
        if body.get("stream"):
            return Scripted(stream=tool_stream(calls), media_type="text/event-stream")
        return Scripted(json=completion("", tool_calls=calls, finish_reason="tool_calls"))

    def _embeddings(self, request: Request, body: Any) -> Scripted:
        refusal = self._refusal(request, body, EMBEDDING_FIELDS)
        if refusal is not None:
            return refusal
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = body.get("output_dimension") or 8
        data = [{"object": "embedding", "index": i, "embedding": fake_vector(str(t), dims)}
                for i, t in enumerate(inputs)]
        tokens = sum(len(str(t).split()) for t in inputs)
        return Scripted(json={"id": "emb-1", "object": "list", "model": body["model"], "data": data,
                              "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens}})

    def _models(self, request: Request, body: Any) -> Scripted:
        refusal = self._refusal(request, None, frozenset())
        if refusal is not None:
            return refusal
        return Scripted(json={"object": "list", "data": [
            {"id": MODEL, "object": "model", "created": 1_700_000_000, "owned_by": "mistralai",
             "capabilities": {"completion_chat": True, "function_calling": True, "vision": False}}]})
