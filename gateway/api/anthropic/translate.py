"""Anthropic Messages bodies -> the neutral ``ChatCall``, for providers that do not speak them.

Reference: Anthropic API docs, "Messages", "Tool use", "Vision", "Extended thinking".
Choices made here:

* ``system`` text blocks become one system message each;
* a user turn's ``tool_result`` blocks become tool messages, ahead of the turn's other
  content (Anthropic requires them first); a result's text blocks are joined, and
  ``is_error: true`` is conveyed as the prefix ``"Error: "`` (neutral tool messages have no
  error flag); an image inside a ``tool_result`` is a 400;
* ``thinking`` and ``redacted_thinking`` blocks of earlier assistant turns are left out, as
  Anthropic itself leaves them out of the context of later turns ("Extended thinking");
* ``cache_control`` is a caching hint with no effect on the answer, and is ignored;
* ``tool_choice`` ``auto``/``any``/``tool``/``none`` become ``auto``/``required``/the named
  function/``none``; ``disable_parallel_tool_use`` becomes ``parallel_tool_calls: false``;
* ``max_tokens`` becomes ``model.max_completion_tokens``, ``stop_sequences`` ``model.stop``,
  ``metadata.user_id`` ``model.user``, ``thinking`` ``model.thinking``; the service refuses,
  naming it, any of these the provider does not honour (``top_k`` for OpenAI, say).

Anything else (an unknown field, a server tool, a block type such as ``document``) is an
``InvalidRequestError`` naming it: only a provider speaking the format gets it relayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel

from gateway.api.anthropic.schemas import (
    Base64SourceIn,
    BlockIn,
    CountTokensRequest,
    ImageBlockIn,
    MessageIn,
    MessagesRequest,
    OtherBlockIn,
    RedactedThinkingBlockIn,
    TextBlockIn,
    ThinkingBlockIn,
    ToolResultBlockIn,
    ToolUseBlockIn,
)
from gateway.api.translate import check_json_schema
from gateway.core import params as p
from gateway.core.messages import (
    AssistantMessage,
    ContentPart,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolDefinition,
    ToolMessage,
    UserMessage,
)
from gateway.core.requests import ChatCall
from gateway.errors import InvalidRequestError

_IGNORED = frozenset({"cache_control"})
_CHOICES: dict[str, str] = {"auto": "auto", "any": "required", "none": "none"}


def _refuse_extras(value: Any, where: str) -> None:
    """Refuse the first unknown field of any model inside ``value``, named by its path; a field
    that is ``null`` asks for nothing and passes (newer SDKs echo such fields of answer blocks)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_extras(item, f"{where}[{i}]")
    elif isinstance(value, BaseModel) and not isinstance(value, OtherBlockIn):
        for name, extra in (value.model_extra or {}).items():
            if extra is None:
                continue
            param = f"{where}.{name}" if where else name
            raise InvalidRequestError(f"'{param}' is not supported for this model: only a provider speaking "
                                      "the Anthropic Messages API takes it.", param=param)
        for name in type(value).model_fields:
            if name not in _IGNORED:
                _refuse_extras(getattr(value, name), f"{where}.{name}" if where else name)


def _unsupported(block: BaseModel, where: str) -> InvalidRequestError:
    kind = getattr(block, "type", "?")
    return InvalidRequestError(f"Content block type '{kind}' in '{where}' is not supported for this model.",
                               param=f"{where}.type")


def _image(block: ImageBlockIn) -> ImagePart:
    source = block.source
    if isinstance(source, Base64SourceIn):
        return ImagePart(f"data:{source.media_type};base64,{source.data}")
    return ImagePart(source.url)


def _result_text(block: ToolResultBlockIn, where: str) -> str:
    content = block.content
    if content is None or isinstance(content, str):
        text = content or ""
    else:
        texts = []
        for i, part in enumerate(content):
            if not isinstance(part, TextBlockIn):
                raise _unsupported(part, f"{where}.content[{i}]")
            texts.append(part.text)
        text = "\n".join(texts)
    return "Error: " + text if block.is_error else text


def _user(blocks: Sequence[BlockIn], where: str) -> list[Message]:
    results: list[Message] = []
    parts: list[ContentPart] = []
    for i, block in enumerate(blocks):
        at = f"{where}.content[{i}]"
        if isinstance(block, TextBlockIn):
            parts.append(TextPart(block.text))
        elif isinstance(block, ImageBlockIn):
            parts.append(_image(block))
        elif isinstance(block, ToolResultBlockIn):
            results.append(ToolMessage(block.tool_use_id, _result_text(block, at)))
        else:
            raise _unsupported(block, at)
    return results + ([UserMessage(tuple(parts))] if parts else [])


def _assistant(blocks: Sequence[BlockIn], where: str) -> list[Message]:
    texts: list[str] = []
    calls: list[ToolCall] = []
    for i, block in enumerate(blocks):
        if isinstance(block, TextBlockIn):
            texts.append(block.text)
        elif isinstance(block, ToolUseBlockIn):
            calls.append(ToolCall(block.id, block.name, orjson.dumps(block.input).decode()))
        elif not isinstance(block, ThinkingBlockIn | RedactedThinkingBlockIn):
            raise _unsupported(block, f"{where}.content[{i}]")
    if not texts and not calls:
        return []
    return [AssistantMessage(content="".join(texts) if texts else None, tool_calls=tuple(calls))]


def _message(message: MessageIn, where: str) -> list[Message]:
    if isinstance(message.content, str):
        if message.role == "user":
            return [UserMessage((TextPart(message.content),))]
        return [AssistantMessage(content=message.content)]
    if message.role == "user":
        return _user(message.content, where)
    return _assistant(message.content, where)


def _system(system: str | Sequence[TextBlockIn] | None) -> list[Message]:
    if system is None:
        return []
    if isinstance(system, str):
        return [SystemMessage(system)] if system else []
    return [SystemMessage(block.text) for block in system]


def _tools(body: CountTokensRequest) -> tuple[ToolDefinition, ...]:
    tools: list[ToolDefinition] = []
    for i, tool in enumerate(body.tools or ()):
        if tool.type not in (None, "custom"):
            raise InvalidRequestError(f"Tool type '{tool.type}' in 'tools[{i}]' is not supported for this model; "
                                      "only client tools with an 'input_schema' are.", param=f"tools[{i}].type")
        if tool.input_schema is None:
            raise InvalidRequestError(f"Missing required parameter: 'tools[{i}].input_schema'.",
                                      param=f"tools[{i}].input_schema")
        check_json_schema(tool.input_schema, f"tools[{i}].input_schema")
        tools.append(ToolDefinition(tool.name, tool.description, tool.input_schema))
    if len({t.name for t in tools}) != len(tools):
        raise InvalidRequestError("Tool names must be unique.", param="tools")
    return tuple(tools)


def _tool_choice(body: MessagesRequest, tools: Sequence[ToolDefinition], out: dict[str, Any]) -> None:
    choice = body.tool_choice
    if choice is None:
        return
    if choice.type == "tool":
        if choice.name not in {t.name for t in tools}:
            raise InvalidRequestError(f"'tool_choice.name' names the tool {choice.name!r}, which is not in 'tools'.",
                                      param="tool_choice.name")
        out[p.TOOL_CHOICE] = {"type": "function", "function": {"name": choice.name}}
    else:
        out[p.TOOL_CHOICE] = _CHOICES[choice.type]
    if choice.disable_parallel_tool_use:
        out[p.PARALLEL_TOOL_CALLS] = False


def _parameters(body: MessagesRequest, tools: Sequence[ToolDefinition]) -> dict[str, Any]:
    out: dict[str, Any] = {p.NAME: body.model, p.MAX_COMPLETION_TOKENS: body.max_tokens}
    for name, key in (("temperature", p.TEMPERATURE), ("top_p", p.TOP_P), ("top_k", p.TOP_K),
                      ("stop_sequences", p.STOP)):
        if (value := getattr(body, name)) is not None:
            out[key] = value
    if body.metadata is not None and body.metadata.user_id is not None:
        out[p.USER] = body.metadata.user_id
    if body.thinking is not None:
        out[p.THINKING] = body.thinking.model_dump(exclude_none=True)
    _tool_choice(body, tools, out)
    return out


def to_prompt(body: CountTokensRequest) -> tuple[tuple[Message, ...], tuple[ToolDefinition, ...]]:
    """The neutral messages and tools of a validated body; raises ``InvalidRequestError`` for what
    cannot be translated (unknown fields included)."""
    _refuse_extras(body, "")
    messages = _system(body.system)
    for i, message in enumerate(body.messages):
        messages += _message(message, f"messages[{i}]")
    return tuple(messages), _tools(body)


def to_chat_call(body: MessagesRequest) -> ChatCall:
    """Translate a validated body; raises ``InvalidRequestError`` for what cannot be translated."""
    messages, tools = to_prompt(body)
    return ChatCall(messages=messages, parameters=_parameters(body, tools), tools=tools,
                    stream=bool(body.stream), include_usage=True)
