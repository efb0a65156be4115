"""A fake Anthropic API (Messages, streaming Messages, Models) as its reference documents it.

Default behaviour, unless a test scripts an answer: ``POST /v1/messages`` echoes the
last user text ("echo: ..."), word by word when ``stream`` is set; when
``tool_choice`` names a tool it calls that tool with ``{"city": "Paris"}``; when
``output_config.format`` asks for JSON it answers a JSON object.
``POST /v1/messages/count_tokens`` answers ``COUNTED`` input tokens. ``GET /v1/models``
lists one model. Only the key ``sk-ant-test`` is accepted, in ``x-api-key`` or (as the
official SDK may send it) ``Authorization: Bearer``; requests without an
``anthropic-version`` header are refused as the API does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tests.fakes.server import FakeUpstream, Scripted, sse

VALID_KEY = "sk-ant-test"
MODEL = "claude-sonnet-4-6"
COUNTED = 42
USAGE = {"input_tokens": 11, "cache_creation_input_tokens": 2, "cache_read_input_tokens": 3, "output_tokens": 7}


def anthropic_error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(status=status, headers=headers or {},
                    json={"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_fake1"})


def message(content: list[dict[str, Any]], stop_reason: str = "end_turn", *,
            usage: dict[str, Any] | None = None, model: str = MODEL) -> dict[str, Any]:
    return {"id": "msg_fake1", "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop_reason, "stop_sequence": None, "usage": usage or dict(USAGE)}


def text_message(text: str, stop_reason: str = "end_turn") -> dict[str, Any]:
    return message([{"type": "text", "text": text}], stop_reason)


def _start(usage: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    start_usage = dict(usage or USAGE)
    start_usage["output_tokens"] = 1
    msg = message([], "end_turn", usage=start_usage)
    msg["stop_reason"] = None
    return "message_start", {"type": "message_start", "message": msg}


def _end(stop_reason: str, output_tokens: int) -> list[tuple[str, dict[str, Any]]]:
    return [("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                               "usage": {"output_tokens": output_tokens}}),
            ("message_stop", {"type": "message_stop"})]


def text_block_events(index: int, pieces: list[str]) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = [
        ("content_block_start", {"type": "content_block_start", "index": index,
                                 "content_block": {"type": "text", "text": ""}})]
    events += [("content_block_delta", {"type": "content_block_delta", "index": index,
                                        "delta": {"type": "text_delta", "text": p}}) for p in pieces]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def tool_block_events(index: int, call_id: str, name: str, fragments: list[str]) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = [
        ("content_block_start", {"type": "content_block_start", "index": index,
                                 "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}}})]
    events += [("content_block_delta", {"type": "content_block_delta", "index": index,
                                        "delta": {"type": "input_json_delta", "partial_json": f}}) for f in fragments]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def thinking_block_events(index: int, pieces: list[str]) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = [
        ("content_block_start", {"type": "content_block_start", "index": index,
                                 "content_block": {"type": "thinking", "thinking": "", "signature": ""}})]
    events += [("content_block_delta", {"type": "content_block_delta", "index": index,
                                        "delta": {"type": "thinking_delta", "thinking": p}}) for p in pieces]
    events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                           "delta": {"type": "signature_delta", "signature": "c2ln"}}))
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def stream_frames(blocks: list[tuple[str, dict[str, Any]]], stop_reason: str = "end_turn", *,
                  output_tokens: int = 7, end: bool = True) -> list[bytes]:
    """A whole stream around ``blocks``; ``end=False`` cuts it before ``message_delta``."""
    events = [_start(), ("ping", {"type": "ping"}), *blocks]
    if end:
        events += _end(stop_reason, output_tokens)
    return sse(events, named=True)


def text_stream(pieces: list[str], **kwargs: Any) -> list[bytes]:
    return stream_frames(text_block_events(0, pieces), **kwargs)


def streamed(frames: list[bytes], gap: float = 0.0) -> Scripted:
    return Scripted(stream=frames, media_type="text/event-stream", gap=gap)


def _last_user_text(body: dict[str, Any]) -> str:
    text = ""
    for msg in body.get("messages", []):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            text = content
        else:
            texts = [b.get("text", "") for b in content if b.get("type") == "text"]
            text = " ".join(texts) if texts else text
    return text


class FakeAnthropic(FakeUpstream):
    def routes(self) -> None:
        self.route("/v1/messages", self._messages)
        self.route("/v1/messages/count_tokens", self._count_tokens)
        self.route("/v1/models", self._models, methods=("GET",))

    def _refusal(self, request: Request) -> Scripted | None:
        key = request.headers.get("x-api-key")
        bearer = request.headers.get("authorization", "")
        if key != VALID_KEY and bearer != f"Bearer {VALID_KEY}":
            return anthropic_error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return anthropic_error(400, "invalid_request_error", "anthropic-version: header is required")
        return None

    def _messages(self, request: Request, body: Any) -> Scripted:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        if not isinstance(body.get("max_tokens"), int):
            return anthropic_error(400, "invalid_request_error", "max_tokens: Field required")
        choice = body.get("tool_choice") or {}
        if choice.get("type") == "tool":
            if body.get("stream"):
                return streamed(stream_frames(
                    tool_block_events(0, "toolu_01", choice["name"], ['{"city": ', '"Paris"}']), "tool_use"))
            return Scripted(json=message([{"type": "tool_use", "id": "toolu_01", "name": choice["name"],
                                           "input": {"city": "Paris"}}], "tool_use"))
        text = _last_user_text(body)
        reply = f"echo: {text}"
        if (body.get("output_config") or {}).get("format"):
            reply = '{"echo": "' + text.replace('"', "") + '"}'
        if body.get("stream"):
            words = [w + " " for w in reply.split(" ")]
            words[-1] = words[-1].rstrip()
            return streamed(text_stream(words, output_tokens=len(words)))
        return Scripted(json=text_message(reply))

    def _count_tokens(self, request: Request, body: Any) -> Scripted:
        refused = self._refusal(request)
        return refused if refused is not None else Scripted(json={"input_tokens": COUNTED})

    def _models(self, request: Request, body: Any) -> Scripted:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        return Scripted(json={"data": [{"type": "model", "id": MODEL, "display_name": "Claude Sonnet 4.6",
                                        "created_at": "2026-02-17T00:00:00Z"}],
                              "has_more": False, "first_id": MODEL, "last_id": MODEL})
