"""Neutral request -> OpenAI Chat Completions body (pure functions).

Reference: OpenAI API, "Create chat completion" (POST /v1/chat/completions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import ChatCompletionOptions
from gateway.callers.openai.wire import Quirks
from gateway.core import params as p
from gateway.core.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolDefinition,
    ToolMessage,
    UserMessage,
)
from gateway.core.params import FieldTable, ModelParameters

CHAT_PARAMETERS = frozenset(
    {
        p.NAME, p.TEMPERATURE, p.TOP_P, p.TOP_K, p.MAX_COMPLETION_TOKENS, p.FREQUENCY_PENALTY, p.PRESENCE_PENALTY,
        p.SEED, p.STOP, p.TOOL_CHOICE, p.RESPONSE_FORMAT, p.REASONING_EFFORT, p.SERVICE_TIER, p.USER, p.N,
        p.LOGPROBS, p.TOP_LOGPROBS, p.PARALLEL_TOOL_CALLS, p.METADATA, p.LOGIT_BIAS, p.STORE,
    }
)

FIELDS: FieldTable = {
    p.TEMPERATURE: ("temperature", "float"),
    p.TOP_P: ("top_p", "float"),
    p.TOP_K: ("top_k", "int"),
    p.FREQUENCY_PENALTY: ("frequency_penalty", "float"),
    p.PRESENCE_PENALTY: ("presence_penalty", "float"),
    p.SEED: ("seed", "int"),
    p.N: ("n", "int"),
    p.TOP_LOGPROBS: ("top_logprobs", "int"),
    p.REASONING_EFFORT: ("reasoning_effort", "str"),
    p.SERVICE_TIER: ("service_tier", "str"),
    p.USER: ("user", "str"),
    p.LOGPROBS: ("logprobs", "bool"),
    p.PARALLEL_TOOL_CALLS: ("parallel_tool_calls", "bool"),
    p.STORE: ("store", "bool"),
    p.RESPONSE_FORMAT: ("response_format", "object"),
    p.METADATA: ("metadata", "object"),
    p.LOGIT_BIAS: ("logit_bias", "object"),
    p.STOP: ("stop", "str_list"),
    p.TOOL_CHOICE: ("tool_choice", "json"),
}


def message_to_openai(message: Message, quirks: Quirks) -> dict[str, Any]:
    if isinstance(message, SystemMessage):
        role = message.role if quirks.developer_role else "system"
        return {"role": role, "content": message.content}
    if isinstance(message, UserMessage):
        out: dict[str, Any] = {"role": "user", "content": user_content(message)}
        if message.name and quirks.message_name:
            out["name"] = message.name
        return out
    if isinstance(message, AssistantMessage):
        out = _assistant_to_openai(message)
        if not quirks.message_name:
            out.pop("name", None)
        return out
    return _tool_to_openai(message)


def user_content(message: UserMessage) -> str | list[dict[str, Any]]:
    """A user message's content in OpenAI's shape: plain text, or ``text`` / ``image_url`` parts
    (the URL may be a ``data:`` URL). Other OpenAI-shaped APIs (Cohere v2) take it as is."""
    if len(message.parts) == 1 and isinstance(message.parts[0], TextPart):
        return message.parts[0].text
    parts: list[dict[str, Any]] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            image: dict[str, Any] = {"url": part.url}
            if part.detail:
                image["detail"] = part.detail
            parts.append({"type": "image_url", "image_url": image})
    return parts


def _assistant_to_openai(message: AssistantMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.refusal:
        out["refusal"] = message.refusal
    if message.name:
        out["name"] = message.name
    return out


def _tool_to_openai(message: ToolMessage) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}


def tool_to_openai(tool: ToolDefinition) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters:
        function["parameters"] = tool.parameters
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def parameters_to_openai(mp: ModelParameters, quirks: Quirks) -> dict[str, Any]:
    """The body fields the ``model.*`` map asks for (everything but messages and tools).

    The output-token limit goes out as ``Quirks.limit_field`` says: under the name the client
    gave it (``model.max_tokens`` -> ``max_tokens``, else ``max_completion_tokens``) unless the
    server or the model requires the other.
    """
    body = mp.project(FIELDS)
    if (limit := mp.get_int(p.MAX_COMPLETION_TOKENS)) is not None:
        given = "max_tokens" if mp.spelling(p.MAX_COMPLETION_TOKENS) == p.MAX_TOKENS else "max_completion_tokens"
        body[quirks.limit_field(mp.get_str(p.NAME) or "", given)] = limit
    return body


def to_openai_chat(
    messages: Sequence[Message], options: ChatCompletionOptions, quirks: Quirks, *, stream: bool
) -> dict[str, Any]:
    """The request body; ``options.extra_body`` fields go out unchanged, under the fields built here."""
    body: dict[str, Any] = {
        "model": options.model,
        "messages": [message_to_openai(m, quirks) for m in messages],
    }
    body.update(parameters_to_openai(options.model_parameter, quirks))
    if options.tool_definitions:
        body["tools"] = [tool_to_openai(t) for t in options.tool_definitions]
    if stream:
        body["stream"] = True
        if quirks.stream_usage:
            body["stream_options"] = {"include_usage": True}
    return {**options.extra_body, **body}
