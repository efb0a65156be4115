"""Anthropic Messages response -> neutral ``ChatResult`` (pure functions).

Reference: Anthropic API docs, "Messages" (the Message object) and "Handling stop
reasons". Text blocks make the content, ``tool_use`` blocks the tool calls
(arguments = the JSON of ``input``), ``thinking`` blocks the reasoning.

Usage: Anthropic's ``input_tokens`` counts only the uncached part of the prompt;
cache writes and cache reads are reported beside it. ``Usage.input_tokens`` is the
whole prompt (``input_tokens + cache_creation_input_tokens +
cache_read_input_tokens``) and ``cached_input_tokens`` the cache reads, as OpenAI's
``prompt_tokens`` / ``cached_tokens`` mean. ``reasoning_tokens`` comes from
``output_tokens_details.thinking_tokens`` when reported (already in ``output_tokens``).
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.callers.http import malformed
from gateway.core.messages import ToolCall
from gateway.core.results import ChatResult, Choice, FinishReason, Usage

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: Any, has_tool_calls: bool = False) -> FinishReason:
    """OpenAI's finish reason for Anthropic's ``stop_reason`` (unknown or missing -> by content)."""
    mapped = _FINISH.get(stop_reason) if isinstance(stop_reason, str) else None
    if mapped is not None:
        return mapped
    return "tool_calls" if has_tool_calls else "stop"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_from_anthropic(raw: Any) -> Usage:
    """Neutral usage from an Anthropic ``usage`` object (see the module docstring)."""
    if not isinstance(raw, dict):
        return Usage()
    uncached = _int(raw.get("input_tokens"))
    created = _int(raw.get("cache_creation_input_tokens"))
    read = _int(raw.get("cache_read_input_tokens"))
    parts = [v for v in (uncached, created, read) if v is not None]
    details = raw.get("output_tokens_details")
    output = _int(raw.get("output_tokens"))
    prompt = sum(parts) if parts else None
    total = None if prompt is None and output is None else (prompt or 0) + (output or 0)
    return Usage(
        input_tokens=prompt,
        output_tokens=output,
        total_tokens=total,
        cached_input_tokens=read,
        reasoning_tokens=_int(details.get("thinking_tokens")) if isinstance(details, dict) else None,
    )


def tool_call_from_block(block: dict[str, Any]) -> ToolCall:
    arguments = block.get("input")
    return ToolCall(
        id=str(block.get("id") or ""),
        name=str(block.get("name") or ""),
        arguments=orjson.dumps(arguments if arguments is not None else {}).decode(),
    )


def from_anthropic_message(body: Any, provider: str) -> ChatResult:
    """The neutral result of a ``type: "message"`` body; raises ``UpstreamError`` if malformed."""
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise malformed(provider, "no 'content' in the message")
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    for block in body["content"]:
        if not isinstance(block, dict):
            raise malformed(provider, "a content block is not an object")
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "thinking":
            thoughts.append(str(block.get("thinking") or ""))
        elif kind == "tool_use":
            calls.append(tool_call_from_block(block))
    choice = Choice(
        index=0,
        content="".join(texts) if texts or not calls else None,
        tool_calls=tuple(calls),
        finish_reason=finish_reason(body.get("stop_reason"), bool(calls)),
        reasoning="".join(thoughts) or None,
    )
    return ChatResult(
        choices=(choice,),
        usage=usage_from_anthropic(body.get("usage")),
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        provider_request_id=body.get("id") if isinstance(body.get("id"), str) else None,
    )
