"""MiniMax chat completions -> neutral results (pure functions).

Reference: MiniMax docs, "Chat Completions API (OpenAI-compatible)" and
"OpenAI API compatible". Reasoning arrives in one of three places: inline in
``content`` as ``<think>...</think>`` (the default), in ``reasoning_details``
(``[{"type": "reasoning.text", "text"}]``, with ``reasoning_split``) or in
``reasoning_content``; it always ends up in ``Choice.reasoning``, never in the
answer. ``output_sensitive: true`` (the output was blocked) is finish reason
``content_filter``. Token counts: ``prompt_tokens`` -> input,
``completion_tokens`` -> output, ``completion_tokens_details.reasoning_tokens``.
"""

from __future__ import annotations

from typing import Any

from gateway.callers.http import malformed
from gateway.callers.minimax.think import split_think
from gateway.callers.minimax.wire import error_in_body
from gateway.callers.openai.response import finish_reason, usage_from_openai
from gateway.core.messages import ToolCall
from gateway.core.results import ChatResult, Choice, FinishReason


def reasoning_fields(message: dict[str, Any]) -> str:
    """Reasoning given outside ``content``: ``reasoning_details`` and ``reasoning_content``."""
    parts: list[str] = []
    details = message.get("reasoning_details")
    if isinstance(details, list):
        parts.extend(str(d.get("text") or "") for d in details if isinstance(d, dict))
    content = message.get("reasoning_content")
    if isinstance(content, str):
        parts.append(content)
    return "".join(parts)


def tool_call_from_minimax(raw: dict[str, Any], fallback_id: str) -> ToolCall:
    function = raw.get("function") or {}
    return ToolCall(id=str(raw.get("id") or fallback_id), name=str(function.get("name") or ""),
                    arguments=str(function.get("arguments") or "{}"))


def _choice(raw: dict[str, Any], position: int, blocked: bool) -> Choice:
    message = raw.get("message") or {}
    index = int(raw.get("index", position))
    inline_reasoning, text = split_think(str(message.get("content") or ""))
    reasoning = reasoning_fields(message) + inline_reasoning
    calls = tuple(tool_call_from_minimax(c, f"call_{index}_{i}") for i, c in enumerate(message.get("tool_calls")
                                                                                      or ()))
    reason: FinishReason = "content_filter" if blocked else (
        finish_reason(raw.get("finish_reason")) or ("tool_calls" if calls else "stop"))
    return Choice(index=index, content=text if text or not calls else None, tool_calls=calls,
                  finish_reason=reason, reasoning=reasoning or None)


def from_minimax_chat(body: Any, provider: str) -> ChatResult:
    """Raises the mapped error for a non-zero ``base_resp`` or an ``error`` object."""
    error = error_in_body(body)
    if error is not None:
        raise error
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        raise malformed(provider, "no 'choices' in the completion")
    blocked = body.get("output_sensitive") is True
    return ChatResult(
        choices=tuple(_choice(raw, i, blocked) for i, raw in enumerate(body["choices"]) if isinstance(raw, dict)),
        usage=usage_from_openai(body.get("usage")),
        model=body.get("model"),
        provider_request_id=body.get("id"),
    )
