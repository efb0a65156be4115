"""A fake MiniMax OpenAI-compatible API (chat completions, models) as its docs and users describe it.

What it does like MiniMax: answers carry the reasoning inline as
``<think>...</think>`` at the start of ``content`` (or in ``reasoning_details``
with ``reasoning_split``); errors may come with HTTP 200 and a non-zero
``base_resp.status_code`` (a bad key on chat is 200 + 1004); undocumented
parameters and a temperature outside (0, 1] are refused (2013); streams send
zero ``usage`` placeholders, cut the think tags between events, and close with
a ``chat.completion`` object holding the whole ``message`` and the real usage,
then ``data: [DONE]``. Only the key ``minimax-test`` passes.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tests.fakes.server import FakeUpstream, Scripted, sse

VALID_KEY = "minimax-test"
MODEL = "MiniMax-M2"
THINKING = "The user greets me."
FIELDS = frozenset({"model", "messages", "stream", "max_completion_tokens", "max_tokens", "temperature", "top_p",
                    "stop", "tools", "thinking", "reasoning_split", "mask_sensitive_info"})
OK = {"status_code": 0, "status_msg": ""}


def base_resp(code: int, message: str, status: int = 200, headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(status=status, headers=headers or {},
                    json={"id": "", "choices": None, "base_resp": {"status_code": code, "status_msg": message}})


def usage(prompt: int = 14, completion: int = 9, reasoning: int = 5) -> dict[str, Any]:
    return {"total_tokens": prompt + completion, "total_characters": 0, "prompt_tokens": prompt,
            "completion_tokens": completion, "completion_tokens_details": {"reasoning_tokens": reasoning}}


def message(content: str, *, details: str | None = None,
            tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"content": content, "role": "assistant", "name": "MiniMax AI", "audio_content": ""}
    if details is not None:
        out["reasoning_details"] = [{"type": "reasoning.text", "id": "reasoning-text-1",
                                     "format": "MiniMax-response-v1", "index": 0, "text": details}]
    if tool_calls:
        out["tool_calls"] = tool_calls
    return out


def completion(msg: dict[str, Any], finish_reason: str = "stop", usage_: dict[str, Any] | None = None,
               obj: str = "chat.completion") -> dict[str, Any]:
    return {"id": "0559e1f1ab0c", "choices": [{"finish_reason": finish_reason, "index": 0, "message": msg}],
            "created": 1_761_000_000, "model": MODEL, "object": obj, "usage": usage_ or usage(),
            "input_sensitive": False, "output_sensitive": False, "input_sensitive_type": 0,
            "output_sensitive_type": 0, "output_sensitive_int": 0, "base_resp": OK}


def delta_chunk(delta: dict[str, Any]) -> dict[str, Any]:
    return {"id": "0559e1f1ab0c", "choices": [{"index": 0, "delta": {"role": "assistant", "name": "MiniMax AI",
                                                                     "audio_content": "", **delta}}],
            "created": 1_761_000_000, "model": MODEL, "object": "chat.completion.chunk",
            "usage": {"total_tokens": 0, "total_characters": 0}, "input_sensitive": False,
            "output_sensitive": False}


def stream(deltas: list[dict[str, Any]], final: dict[str, Any], finish_reason: str = "stop",
           *, done: bool = True) -> list[bytes]:
    """Delta events, then MiniMax's closing ``chat.completion`` object."""
    return sse([*(delta_chunk(d) for d in deltas), completion(final, finish_reason)], done=done)


def weather_call(arguments: str = '{"city": "Paris"}') -> dict[str, Any]:
    return {"id": "call_function_x1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}


def _user_text(messages: list[dict[str, Any]]) -> str:
    text = ""
    for item in messages:
        if item.get("role") == "user":
            content = item["content"]
            text = content if isinstance(content, str) else " ".join(
                p.get("text", "") for p in content if p.get("type") == "text")
    return text


def _invalid(body: dict[str, Any]) -> str | None:
    extra = sorted(set(body) - FIELDS)
    if extra:
        return f"invalid params, unknown field {extra[0]}"
    temperature = body.get("temperature")
    if temperature is not None and not 0 < temperature <= 1:
        return "invalid params, temperature range (0, 1]"
    if any("strict" in t.get("function", {}) for t in body.get("tools") or ()):
        return "invalid params, tools[].function.strict"
    return None


class FakeMiniMax(FakeUpstream):
    def routes(self) -> None:
        self.route("/v1/chat/completions", self._chat)
        self.route("/v1/models", self._models, methods=("GET",))

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {VALID_KEY}"

    def _chat(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return base_resp(1004, "login fail: Please carry the API secret key in the 'Authorization' field")
        problem = _invalid(body)
        if problem is not None:
            return base_resp(2013, problem, status=400)
        text = _user_text(body["messages"])
        if body.get("tools") and "weather" in text:
            return self._tool_answer(bool(body.get("stream")))
        answer = f"echo: {text}"
        split = bool(body.get("reasoning_split"))
        if not body.get("stream"):
            if split:
                return Scripted(json=completion(message(answer, details=THINKING)))
            return Scripted(json=completion(message(f"<think>\n{THINKING}\n</think>\n\n{answer}")))
        words = [w + " " for w in answer.split(" ")]
        words[-1] = words[-1].rstrip()
        if split:
            deltas = [{"content": "", "reasoning_details": [{"type": "reasoning.text", "text": piece}]}
                      for piece in ("The user", " greets me.")]
            deltas += [{"content": w} for w in words]
            return Scripted(stream=stream(deltas, message(answer, details=THINKING)), media_type="text/event-stream")
        pieces = ["<thi", "nk>\nThe user", " greets me.\n</th", "ink>\n\n", *words]
        final = message(f"<think>\n{THINKING}\n</think>\n\n{answer}")
        return Scripted(stream=stream([{"content": p} for p in pieces], final), media_type="text/event-stream")

    def _tool_answer(self, streamed: bool) -> Scripted:
        content = "<think>\nI need the weather tool.\n</think>\n\n"
        if not streamed:
            return Scripted(json=completion(message(content, tool_calls=[weather_call()]), "tool_calls"))
        first = {"index": 0, "id": "call_function_x1", "type": "function",
                 "function": {"name": "get_weather", "arguments": ""}}
        deltas: list[dict[str, Any]] = [{"content": content}, {"tool_calls": [first]},
                                        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
                                        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}]
        return Scripted(stream=stream(deltas, message(content, tool_calls=[weather_call()]), "tool_calls"),
                        media_type="text/event-stream")

    def _models(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return base_resp(1004, "login fail: invalid api key", status=401)
        return Scripted(json={"object": "list", "data": [
            {"id": "MiniMax-M2", "object": "model", "created": 1_761_000_000, "owned_by": "minimax"}]})
