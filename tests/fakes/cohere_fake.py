"""A fake Cohere API (v2 Chat, Embed, Rerank; v1 List Models) as its reference documents it.

Default behaviour, unless a test scripts an answer: chat echoes the last user
text ("echo: ..."), streams it word by word with named SSE events; with tools
and ``tool_choice: REQUIRED`` it calls the first tool; embed returns
deterministic float vectors; rerank scores documents by shared words with the
query. Only the key ``co-test`` is accepted (401 ``{"id", "message"}`` otherwise).
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request

from tests.fakes.server import FakeUpstream, Scripted, sse

VALID_KEY = "co-test"
USAGE = {"billed_units": {"input_tokens": 9, "output_tokens": 4}, "tokens": {"input_tokens": 21, "output_tokens": 4},
         "cached_tokens": 5}


def cohere_error(status: int, message: str, headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(status=status, json={"id": "err-1", "message": message}, headers=headers or {})


def chat_response(text: str | None = "Hello!", *, tool_calls: list[dict[str, Any]] | None = None,
                  tool_plan: str | None = None, finish_reason: str = "COMPLETE",
                  usage: dict[str, Any] | None = None, thinking: str | None = None) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if thinking is not None:
        content.append({"type": "thinking", "thinking": thinking})
    if text is not None:
        content.append({"type": "text", "text": text})
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
        message["tool_plan"] = tool_plan or "I will call the tool."
    return {"id": "co-resp-1", "finish_reason": finish_reason, "message": message, "usage": usage or USAGE}


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _ev(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, **fields}


def message_start() -> tuple[str, dict[str, Any]]:
    return _ev("message-start", id="co-stream-1", delta={"message": {
        "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}})


def message_end(finish_reason: str = "COMPLETE", usage: dict[str, Any] | None = None,
                error: str | None = None) -> tuple[str, dict[str, Any]]:
    delta: dict[str, Any] = {"finish_reason": finish_reason, "usage": usage or USAGE}
    if error is not None:
        delta["error"] = error
    return _ev("message-end", delta=delta)


def text_events(words: list[str], *, end: bool = True, finish_reason: str = "COMPLETE",
                usage: dict[str, Any] | None = None) -> list[tuple[str, dict[str, Any]]]:
    events = [message_start(),
              _ev("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}})]
    events += [_ev("content-delta", index=0, delta={"message": {"content": {"text": w}}}) for w in words]
    events.append(_ev("content-end", index=0))
    if end:
        events.append(message_end(finish_reason, usage))
    return events


def tool_call_events(calls: list[tuple[str, str, list[str]]], plan: list[str] | None = None,
                     ) -> list[tuple[str, dict[str, Any]]]:
    """Each call is (id, name, argument fragments): the first rides on ``tool-call-start``."""
    events = [message_start()]
    events += [_ev("tool-plan-delta", delta={"message": {"tool_plan": p}}) for p in plan or []]
    for index, (call_id, name, fragments) in enumerate(calls):
        first = {"id": call_id, "type": "function", "function": {"name": name, "arguments": fragments[0]}}
        events.append(_ev("tool-call-start", index=index, delta={"message": {"tool_calls": first}}))
        events += [_ev("tool-call-delta", index=index,
                       delta={"message": {"tool_calls": {"function": {"arguments": f}}}}) for f in fragments[1:]]
        events.append(_ev("tool-call-end", index=index))
    events.append(message_end("TOOL_CALL"))
    return events


def stream(events: list[tuple[str, dict[str, Any]]], gap: float = 0.0) -> Scripted:
    return Scripted(stream=sse(events, named=True), media_type="text/event-stream", gap=gap)


def fake_vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % len(digest)] - 128) / 128, 6) for i in range(dims)]


def relevance(query: str, document: str) -> float:
    words = set(query.lower().split())
    shared = words & set(document.lower().split())
    return round(len(shared) / max(len(words), 1), 4)


class FakeCohere(FakeUpstream):
    def routes(self) -> None:
        self.route("/v2/chat", self._chat)
        self.route("/v2/embed", self._embed)
        self.route("/v2/rerank", self._rerank)
        self.route("/v1/models", self._models, methods=("GET",))

    def _denied(self, request: Request) -> Scripted | None:
        if request.headers.get("authorization") == f"Bearer {VALID_KEY}":
            return None
        return cohere_error(401, "invalid api token")

    def _chat(self, request: Request, body: Any) -> Scripted:
        if denied := self._denied(request):
            return denied
        text = ""
        for message in body.get("messages", []):
            if message.get("role") == "user":
                content = message.get("content")
                text = content if isinstance(content, str) else " ".join(
                    b.get("text", "") for b in content if b.get("type") == "text")
        if body.get("tools") and body.get("tool_choice") == "REQUIRED":
            name = body["tools"][0]["function"]["name"]
            if body.get("stream"):
                return stream(tool_call_events([("call_co_1", name, ['{"city": ', '"Paris"}'])],
                                               plan=["I will ", "look it up."]))
            return Scripted(json=chat_response(None, tool_calls=[tool_call("call_co_1", name, '{"city": "Paris"}')],
                                               finish_reason="TOOL_CALL"))
        reply = f"echo: {text}"
        if body.get("stream"):
            words = [w + " " for w in reply.split(" ")]
            words[-1] = words[-1].rstrip()
            return stream(text_events(words))
        return Scripted(json=chat_response(reply))

    def _embed(self, request: Request, body: Any) -> Scripted:
        if denied := self._denied(request):
            return denied
        if not body.get("model") or not body.get("embedding_types"):
            return cohere_error(400, "invalid request: model and embedding_types are required")
        dims = body.get("output_dimension") or 8
        texts = body.get("texts") or []
        vectors = [fake_vector(t, dims) for t in texts]
        tokens = sum(len(t.split()) for t in texts)
        return Scripted(json={"id": "co-embed-1", "response_type": "embeddings_by_type",
                              "embeddings": {"float": vectors}, "texts": texts,
                              "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}}})

    def _rerank(self, request: Request, body: Any) -> Scripted:
        if denied := self._denied(request):
            return denied
        documents = body.get("documents") or []
        scored = sorted(((i, relevance(body["query"], d)) for i, d in enumerate(documents)),
                        key=lambda item: -item[1])
        top_n = body.get("top_n") or len(documents)
        results = [{"index": i, "relevance_score": s} for i, s in scored[:top_n]]
        return Scripted(json={"id": "co-rerank-1", "results": results,
                              "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}})

    def _models(self, request: Request, body: Any) -> Scripted:
        if denied := self._denied(request):
            return denied
        return Scripted(json={"models": [{"name": "command-a-03-2025", "endpoints": ["chat"], "finetuned": False,
                                          "context_length": 256000}], "next_page_token": None})
