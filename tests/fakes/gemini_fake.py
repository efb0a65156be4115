"""A fake Gemini API (generateContent, streamGenerateContent?alt=sse, batchEmbedContents, countTokens,
models.list) speaking the format of Google's API reference (https://ai.google.dev/api).

Default behaviour, unless a test scripts an answer: chat echoes the last user
text ("echo: ..."), streams it word by word (each chunk a partial
GenerateContentResponse, the last one with finishReason and usage totals), calls
the first allowed (or declared) function when ``toolConfig`` forces a call (mode
ANY), answers JSON when ``responseMimeType`` asks for it;
embeddings are deterministic per text. Only ``VALID_KEY`` is accepted, in the
``x-goog-api-key`` header or the ``key`` query parameter; any other key gets
Google's real answer to a bad key: 400 INVALID_ARGUMENT with reason API_KEY_INVALID.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tests.fakes.openai_fake import fake_vector
from tests.fakes.server import FakeUpstream, Scripted, sse

VALID_KEY = "AIza-test-key"
MODEL_VERSION = "gemini-2.5-flash-001"


def google_error(status: int, message: str, status_name: str, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> Scripted:
    error: dict[str, Any] = {"code": status, "message": message, "status": status_name}
    if details:
        error["details"] = details
    return Scripted(status=status, json={"error": error}, headers=headers or {})


def bad_key_error() -> Scripted:
    return google_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}])


def usage(prompt: int = 9, candidates: int = 5, thoughts: int | None = None, cached: int | None = None,
          ) -> dict[str, Any]:
    meta: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": candidates,
                            "totalTokenCount": prompt + candidates + (thoughts or 0)}
    if thoughts is not None:
        meta["thoughtsTokenCount"] = thoughts
    if cached is not None:
        meta["cachedContentTokenCount"] = cached
    return meta


def candidate(parts: list[dict[str, Any]], finish: str | None = "STOP", index: int | None = None,
              ) -> dict[str, Any]:
    out: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if finish:
        out["finishReason"] = finish
    if index:
        out["index"] = index
    return out


def response(*candidates: dict[str, Any], usage_metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"candidates": list(candidates), "modelVersion": MODEL_VERSION, "responseId": "resp-1"}
    if usage_metadata is not None:
        out["usageMetadata"] = usage_metadata
    return out


def text_response(text: str, usage_metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return response(candidate([{"text": text}]), usage_metadata=usage_metadata or usage())


def text_stream(words: list[str], *, finish: bool = True, prompt: int = 9) -> list[bytes]:
    """One chunk per word; usage grows, the last chunk has finishReason and the totals."""
    events = []
    for i, word in enumerate(words):
        last = finish and i == len(words) - 1
        events.append(response(candidate([{"text": word}], "STOP" if last else None),
                               usage_metadata=usage(prompt, i + 1)))
    return sse(events)


def stream_answer(frames: list[bytes], **kwargs: Any) -> Scripted:
    return Scripted(stream=frames, media_type="text/event-stream", **kwargs)


def function_call(name: str, args: dict[str, Any], signature: str | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {"functionCall": {"name": name, "args": args}}
    if signature:
        part["thoughtSignature"] = signature
    return part


def _last_user_text(body: dict[str, Any]) -> str:
    text = ""
    for content in body.get("contents", []):
        if content.get("role") == "user":
            texts = [part["text"] for part in content.get("parts", []) if "text" in part]
            if texts:
                text = " ".join(texts)
    return text


def default_answer(body: dict[str, Any]) -> dict[str, Any]:
    """The default (non-streamed) answer to a generateContent body."""
    calling = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {})
    declared = [d["name"] for tool in body.get("tools", []) for d in tool.get("functionDeclarations", [])]
    allowed = calling.get("allowedFunctionNames") or declared
    if calling.get("mode") == "ANY" and allowed:
        return response(candidate([function_call(allowed[0], {"city": "Paris"})]), usage_metadata=usage())
    text = _last_user_text(body)
    if (body.get("generationConfig") or {}).get("responseMimeType") == "application/json":
        return text_response('{"echo": "' + text.replace('"', "") + '"}')
    return text_response(f"echo: {text}")


def default_stream(body: dict[str, Any]) -> Scripted:
    """The default answer streamed: text word by word, a function call in one chunk."""
    whole = default_answer(body)
    parts = whole["candidates"][0]["content"]["parts"]
    if "functionCall" in parts[0]:
        return stream_answer(sse([whole]))
    words = parts[0]["text"].split(" ")
    return stream_answer(text_stream([w + " " for w in words[:-1]] + words[-1:]))


class FakeGemini(FakeUpstream):
    def routes(self) -> None:
        self.route("/v1beta/models/{model}:generateContent", self._generate)
        self.route("/v1beta/models/{model}:streamGenerateContent", self._stream)
        self.route("/v1beta/models/{model}:batchEmbedContents", self._embed)
        self.route("/v1beta/models/{model}:countTokens", self._count_tokens)
        self.route("/v1beta/models", self._models, methods=("GET",))

    def _authorized(self, request: Request) -> bool:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        return key == VALID_KEY

    def _generate(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return bad_key_error()
        return Scripted(json=default_answer(body))

    def _stream(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return bad_key_error()
        if request.query_params.get("alt") != "sse":
            return google_error(400, "this fake only streams with alt=sse", "INVALID_ARGUMENT")
        return default_stream(body)

    def _embed(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return bad_key_error()
        embeddings: list[dict[str, Any]] = []
        for item in body["requests"]:
            text = " ".join(part["text"] for part in item["content"]["parts"])
            embeddings.append({"values": fake_vector(text, item.get("outputDimensionality") or 8)})
        return Scripted(json={"embeddings": embeddings})

    def _count_tokens(self, request: Request, body: Any) -> Scripted:
        """``totalTokens``: the words of every text part of ``generateContentRequest``."""
        if not self._authorized(request):
            return bad_key_error()
        inner = body["generateContentRequest"]
        contents = [*inner["contents"], inner.get("systemInstruction") or {"parts": []}]
        words = sum(len(part.get("text", "").split()) for content in contents for part in content["parts"])
        return Scripted(json={"totalTokens": words, "promptTokensDetails": [{"modality": "TEXT",
                                                                             "tokenCount": words}]})

    def _models(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return bad_key_error()
        return Scripted(json={"models": [{
            "name": "models/gemini-2.5-flash", "version": "001", "displayName": "Gemini 2.5 Flash",
            "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"]}]})
