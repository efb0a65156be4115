"""Cohere v2 Chat response -> neutral ``ChatResult``.

Reference: Cohere API reference, "Chat" response: ``id``, ``finish_reason``
(``COMPLETE``, ``STOP_SEQUENCE``, ``MAX_TOKENS``, ``TOOL_CALL``, ``ERROR``,
``TIMEOUT``), ``message`` (``content[]`` text/thinking blocks, ``tool_plan``,
``tool_calls[]``) and ``usage`` (``tokens``, ``billed_units``, ``cached_tokens``).
"""

from __future__ import annotations

from typing import Any

from gateway.callers.cohere.wire import as_int, obj
from gateway.callers.http import malformed
from gateway.core.messages import ToolCall
from gateway.core.results import ChatResult, Choice, FinishReason, Usage
from gateway.errors import UpstreamError

_FINISH: dict[str, FinishReason] = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
}
_FAILED = frozenset({"ERROR", "TIMEOUT"})


def finish_reason(value: Any, provider: str, error: Any = None) -> FinishReason:
    """The OpenAI finish reason; ``ERROR``/``TIMEOUT`` (or an ``error`` text) raise ``UpstreamError``."""
    reason = str(value) if value is not None else ""
    if reason in _FAILED or error:
        detail = error if isinstance(error, str) and error else f"the generation ended with {reason or 'an error'}"
        raise UpstreamError(f"{provider}: {detail}", code=f"upstream_{(reason or 'error').lower()}",
                            provider=provider)
    return _FINISH.get(reason, "stop")


def usage_from_cohere(usage: Any) -> Usage:
    """``usage.tokens`` (what the model consumed and produced); ``billed_units`` when absent."""
    if not isinstance(usage, dict):
        return Usage()
    tokens, billed = obj(usage, "tokens"), obj(usage, "billed_units")
    input_tokens = as_int(tokens.get("input_tokens"))
    output_tokens = as_int(tokens.get("output_tokens"))
    if input_tokens is None and output_tokens is None:
        input_tokens = as_int(billed.get("input_tokens"))
        output_tokens = as_int(billed.get("output_tokens"))
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens,
                 cached_input_tokens=as_int(usage.get("cached_tokens")))


def tool_call_from_cohere(raw: Any, provider: str) -> ToolCall:
    if not isinstance(raw, dict):
        raise malformed(provider, "a tool call is not an object")
    function = obj(raw, "function")
    return ToolCall(id=str(raw.get("id") or ""), name=str(function.get("name") or ""),
                    arguments=function.get("arguments") or "{}")


def _blocks(content: Any, kind: str) -> str | None:
    if not isinstance(content, list):
        return None
    parts = [str(block.get(kind) or "") for block in content if isinstance(block, dict) and block.get("type") == kind]
    return "".join(parts) if parts else None


def from_cohere_chat(body: Any, provider: str) -> ChatResult:
    """Text blocks (or, with tool calls and no text, the ``tool_plan``) become ``content``;
    thinking blocks become ``reasoning``."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        raise malformed(provider, "no 'message' in the chat response")
    message = body["message"]
    reason = finish_reason(body.get("finish_reason"), provider)
    calls = tuple(tool_call_from_cohere(c, provider) for c in message.get("tool_calls") or ())
    content = _blocks(message.get("content"), "text")
    if content is None and isinstance(message.get("tool_plan"), str):
        content = message["tool_plan"]
    if content is None and not calls:
        content = ""
    if calls and reason == "stop":
        reason = "tool_calls"
    choice = Choice(index=0, content=content, tool_calls=calls, finish_reason=reason,
                    reasoning=_blocks(message.get("content"), "thinking"))
    return ChatResult(choices=(choice,), usage=usage_from_cohere(body.get("usage")),
                      provider_request_id=body.get("id"))
