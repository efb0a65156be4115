"""A fake OpenAI API (Chat Completions, Embeddings, Models) as its reference documents it.

Default behaviour, unless a test scripts an answer: chat echoes the last user
text ("echo: ..."), streams it word by word with a usage chunk when
``stream_options.include_usage`` is set, calls the named tool when
``tool_choice`` names one; embeddings are deterministic per input; only the key
``sk-test`` is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

from starlette.requests import Request

from tests.fakes.server import FakeUpstream, Scripted, sse

VALID_KEY = "sk-test"


def openai_error(status: int, message: str, type_: str, code: str | None = None,
                 headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(status=status, json={"error": {"message": message, "type": type_, "param": None, "code": code}},
                    headers=headers or {})


def completion(content: str | None = "Hello!", *, tool_calls: list[dict[str, Any]] | None = None,
               finish_reason: str = "stop", usage: dict[str, Any] | None = None,
               model: str = "gpt-4o-mini-2024-07-18") -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-upstream1", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "system_fingerprint": "fp_test",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage or {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                           "prompt_tokens_details": {"cached_tokens": 3},
                           "completion_tokens_details": {"reasoning_tokens": 2}},
    }


def chunk(delta: dict[str, Any], finish_reason: str | None = None, *, index: int = 0,
          model: str = "gpt-4o-mini-2024-07-18") -> dict[str, Any]:
    return {"id": "chatcmpl-upstream1", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": model, "choices": [{"index": index, "delta": delta, "logprobs": None,
                                         "finish_reason": finish_reason}]}


def usage_chunk(prompt: int = 11, completion: int = 7) -> dict[str, Any]:
    return {"id": "chatcmpl-upstream1", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": "gpt-4o-mini-2024-07-18", "choices": [],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}


def text_stream(words: list[str], *, usage: bool = True, done: bool = True) -> list[bytes]:
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": w}) for w in words]
    events.append(chunk({}, "stop"))
    if usage:
        events.append(usage_chunk(11, len(words)))
    return sse(events, done=done)


def tool_call_stream(calls: list[tuple[str, str, list[str]]], *, usage: bool = True) -> list[bytes]:
    """Each call is (id, name, argument fragments), streamed the way OpenAI does."""
    events = [chunk({"role": "assistant", "content": None})]
    for position, (call_id, name, fragments) in enumerate(calls):
        events.append(chunk({"tool_calls": [{"index": position, "id": call_id, "type": "function",
                                              "function": {"name": name, "arguments": ""}}]}))
        events += [chunk({"tool_calls": [{"index": position, "function": {"arguments": f}}]}) for f in fragments]
    events.append(chunk({}, "tool_calls"))
    if usage:
        events.append(usage_chunk())
    return sse(events, done=True)


def text_completion_stream(texts: list[str], *, usage: bool = True) -> list[bytes]:
    """A legacy completion stream: each choice's words, then its finish, then (asked for) usage."""
    head = {"id": "cmpl-upstream1", "object": "text_completion", "created": 1_700_000_000, "model": "gpt-3.5"}
    events = []
    for index, text in enumerate(texts):
        words = [w + " " for w in text.split(" ")]
        words[-1] = words[-1].rstrip()
        events += [{**head, "choices": [{"text": w, "index": index, "logprobs": None, "finish_reason": None}]}
                   for w in words]
        events.append({**head, "choices": [{"text": "", "index": index, "logprobs": None, "finish_reason": "stop"}]})
    if usage:
        events.append({**head, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4,
                                                       "total_tokens": 9}})
    return sse(events, done=True)


def fake_vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % len(digest)] - 128) / 128, 6) for i in range(dims)]


class FakeOpenAI(FakeUpstream):
    def routes(self) -> None:
        for prefix in ("", "/v1"):
            self.route(prefix + "/chat/completions", self._chat)
            self.route(prefix + "/embeddings", self._embeddings)
            self.route(prefix + "/completions", self._completions)
            self.route(prefix + "/models", self._models, methods=("GET",))

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {VALID_KEY}"

    def _unauthorized(self) -> Scripted:
        return openai_error(401, "Incorrect API key provided: sk-bad***.", "invalid_request_error",
                            "invalid_api_key")

    def _chat(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        text = ""
        for message in body.get("messages", []):
            if message.get("role") == "user":
                content = message.get("content")
                text = content if isinstance(content, str) else " ".join(
                    p.get("text", "") for p in content if p.get("type") == "text")
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            name = choice["function"]["name"]
            call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": '{"city": "Paris"}'}}
            if body.get("stream"):
                return Scripted(stream=tool_call_stream([("call_1", name, ['{"city": ', '"Paris"}'])]),
                                media_type="text/event-stream")
            return Scripted(json=completion(None, tool_calls=[call], finish_reason="tool_calls"))
        reply = f"echo: {text}"
        if body.get("response_format", {}).get("type") in ("json_object", "json_schema"):
            reply = '{"echo": "' + text.replace('"', "") + '"}'
        if body.get("stream"):
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            words = [w + " " for w in reply.split(" ")]
            words[-1] = words[-1].rstrip()
            return Scripted(stream=text_stream(words, usage=include), media_type="text/event-stream")
        return Scripted(json=completion(reply))

    def _completions(self, request: Request, body: Any) -> Scripted:
        """Legacy completions: each prompt's choices say ``echo: <prompt>``; streamed word by word."""
        if not self._authorized(request):
            return self._unauthorized()
        prompt = body.get("prompt")
        prompts = prompt if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt) else [str(prompt)]
        n = body.get("n") or 1
        texts = [f"echo: {p}" for p in prompts for _ in range(n)]
        if body.get("stream"):
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            return Scripted(stream=text_completion_stream(texts, usage=include), media_type="text/event-stream")
        choices = [{"text": t, "index": i, "logprobs": None, "finish_reason": "stop"} for i, t in enumerate(texts)]
        return Scripted(json={"id": "cmpl-upstream1", "object": "text_completion", "created": 1_700_000_000,
                              "model": body["model"], "choices": choices,
                              "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}})

    def _embeddings(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        given = body["input"]
        one = not isinstance(given, list) or (bool(given) and all(isinstance(t, int) for t in given))
        inputs = [given] if one else given
        dims = body.get("dimensions") or 8
        data = []
        for i, text in enumerate(inputs):
            vector = fake_vector(str(text), dims)
            encoded: Any = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        tokens = sum(len(str(t).split()) for t in inputs)
        return Scripted(json={"object": "list", "data": data, "model": body["model"],
                              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def _models(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        return Scripted(json={"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 1_700_000_000, "owned_by": "system"}]})
