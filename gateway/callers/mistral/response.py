"""Mistral chat completion responses -> neutral results (pure functions).

Reference: Mistral API, ``ChatCompletionResponse`` / ``ChatCompletionChoice``
(``mistralai`` SDK models). Differences from OpenAI handled here:

* ``message.content`` is a string or a list of chunks; reasoning models send
  ``{"type": "thinking", "thinking": [{"type": "text", ...}]}`` chunks before the
  ``text`` chunks (docs.mistral.ai, "Reasoning");
* ``function.arguments`` may be a JSON object rather than a string;
* finish reasons include ``model_length`` (-> ``length``) and ``error``
  (the generation failed: raised, never reported as success).
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.callers.http import malformed
from gateway.callers.openai.response import usage_from_openai
from gateway.core.messages import ToolCall
from gateway.core.results import ChatResult, Choice, FinishReason
from gateway.errors import UpstreamError

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "model_length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
}


def finish_reason(value: Any, provider: str) -> FinishReason | None:
    """Mistral's finish reason as OpenAI's; ``error`` raises ``UpstreamError``."""
    if value is None:
        return None
    if value == "error":
        raise UpstreamError(f"{provider}: the model stopped with an error before finishing.",
                            code="upstream_generation_error", provider=provider)
    return _FINISH.get(str(value), "stop")


def _thinking_text(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    return "".join(str(part.get("text") or "") for part in parts or () if isinstance(part, dict))


def split_content(content: Any) -> tuple[str, str]:
    """``(answer text, reasoning text)`` of a string or a list of content chunks.
    Chunks without text (references, documents) contribute nothing."""
    if content is None:
        return "", ""
    if isinstance(content, str):
        return content, ""
    text: list[str] = []
    reasoning: list[str] = []
    for chunk in content if isinstance(content, list) else ():
        if not isinstance(chunk, dict):
            continue
        if chunk.get("type") == "text":
            text.append(str(chunk.get("text") or ""))
        elif chunk.get("type") == "thinking":
            reasoning.append(_thinking_text(chunk.get("thinking")))
    return "".join(text), "".join(reasoning)


def arguments_text(arguments: Any) -> str:
    """Tool call arguments as JSON text (Mistral may send an object)."""
    if isinstance(arguments, dict | list):
        return orjson.dumps(arguments).decode()
    return str(arguments) if arguments else "{}"


def tool_call_from_mistral(raw: dict[str, Any], fallback_id: str) -> ToolCall:
    function = raw.get("function") or {}
    call_id = raw.get("id")
    return ToolCall(
        id=call_id if isinstance(call_id, str) and call_id and call_id != "null" else fallback_id,
        name=str(function.get("name") or ""),
        arguments=arguments_text(function.get("arguments")),
    )


def _choice(raw: dict[str, Any], position: int, provider: str) -> Choice:
    message = raw.get("message") or {}
    index = int(raw.get("index", position))
    text, reasoning = split_content(message.get("content"))
    calls = tuple(tool_call_from_mistral(c, f"call{index}x{i:03d}") for i, c in enumerate(message.get("tool_calls")
                                                                                      or ()))
    return Choice(
        index=index,
        content=text if text or not calls else None,
        tool_calls=calls,
        finish_reason=finish_reason(raw.get("finish_reason"), provider) or ("tool_calls" if calls else "stop"),
        reasoning=reasoning or None,
    )


def from_mistral_chat(body: Any, provider: str) -> ChatResult:
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        raise malformed(provider, "no 'choices' in the completion")
    return ChatResult(
        choices=tuple(_choice(raw, i, provider) for i, raw in enumerate(body["choices"]) if isinstance(raw, dict)),
        usage=usage_from_openai(body.get("usage")),
        model=body.get("model"),
        provider_request_id=body.get("id"),
    )
