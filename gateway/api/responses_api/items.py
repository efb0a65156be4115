"""Responses API input items -> neutral messages, and the stored form of input items.

Items are JSON objects as the client sent them (or as a stored conversation holds them);
each is parsed by its ``type`` (a ``message`` may omit it). ``reasoning`` items are accepted
and dropped: the neutral messages carry no reasoning to replay. An ``item_reference`` the
route could not resolve from the store is a ``NotFoundError``; anything else is an
``InvalidRequestError`` naming the item.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from gateway.api.responses_api.schemas import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputImage,
    InputText,
    MessageItem,
    ReasoningItem,
    Refusal,
)
from gateway.core.messages import (
    AssistantMessage,
    ContentPart,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from gateway.errors import InvalidRequestError, NotFoundError

_ITEM_MODELS: dict[str, type[BaseModel]] = {
    "message": MessageItem,
    "function_call": FunctionCallItem,
    "function_call_output": FunctionCallOutputItem,
    "reasoning": ReasoningItem,
}
_ID_PREFIXES = {"message": "msg_", "function_call": "fc_", "function_call_output": "fco_", "reasoning": "rs_"}


def new_id(prefix: str) -> str:
    """A fresh item or response id: ``prefix`` and 48 random hex digits."""
    return prefix + secrets.token_hex(24)


def _kind(item: dict[str, Any]) -> str:
    kind = item.get("type", "message")
    return kind if isinstance(kind, str) else ""


def parse_item(item: dict[str, Any], where: str) -> BaseModel:
    """The typed form of one input item; raises ``InvalidRequestError`` naming ``where``."""
    kind = _kind(item)
    if kind == "item_reference":
        raise NotFoundError(f"Item with id '{item.get('id')}' not found.", param=f"{where}.id")
    model = _ITEM_MODELS.get(kind)
    if model is None:
        raise InvalidRequestError(f"Input item type '{kind}' in '{where}' is not supported; use message, "
                                  "function_call, function_call_output or reasoning.", param=f"{where}.type")
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join([where, *(str(p) for p in first["loc"])])
        raise InvalidRequestError(f"Invalid input item '{param}': {first['msg']}.", param=param) from None


def _part(part: dict[str, Any], where: str) -> BaseModel:
    for model in (InputText, InputImage, Refusal):
        try:
            return model.model_validate(part)
        except ValidationError:
            continue
    raise InvalidRequestError(f"Content part type '{part.get('type')}' in '{where}' is not supported.",
                              param=f"{where}.type")


def _user_parts(content: str | list[dict[str, Any]], where: str) -> tuple[ContentPart, ...]:
    if isinstance(content, str):
        return (TextPart(content),)
    parts: list[ContentPart] = []
    for i, raw in enumerate(content):
        part = _part(raw, f"{where}.content[{i}]")
        if isinstance(part, InputText):
            parts.append(TextPart(part.text))
        elif isinstance(part, InputImage) and part.image_url:
            parts.append(ImagePart(part.image_url, part.detail))
        else:
            raise InvalidRequestError(f"'{where}.content[{i}]' is not supported here; use input_text, or "
                                      "input_image with an image_url.", param=f"{where}.content[{i}]")
    if not parts:
        raise InvalidRequestError(f"'{where}.content' must not be empty.", param=f"{where}.content")
    return tuple(parts)


def _text(content: str | list[dict[str, Any]], where: str) -> tuple[str, str | None]:
    """The text and refusal of text-only content."""
    if isinstance(content, str):
        return content, None
    texts: list[str] = []
    refusal: str | None = None
    for i, raw in enumerate(content):
        part = _part(raw, f"{where}.content[{i}]")
        if isinstance(part, InputText):
            texts.append(part.text)
        elif isinstance(part, Refusal):
            refusal = (refusal or "") + part.refusal
        else:
            raise InvalidRequestError(f"'{where}.content[{i}]' must be text here.", param=f"{where}.content[{i}]")
    return "".join(texts), refusal


def _message(item: MessageItem, where: str) -> Message:
    if item.role == "user":
        return UserMessage(_user_parts(item.content, where))
    text, refusal = _text(item.content, where)
    if item.role == "assistant":
        return AssistantMessage(content=text, refusal=refusal)
    return SystemMessage(text, item.role)


def _with_call(messages: list[Message], call: ToolCall) -> None:
    """Attach ``call`` to the assistant turn it belongs to (the last message, if an assistant's)."""
    last = messages[-1] if messages else None
    if isinstance(last, AssistantMessage):
        messages[-1] = AssistantMessage(content=last.content or None, tool_calls=(*last.tool_calls, call),
                                        refusal=last.refusal)
    else:
        messages.append(AssistantMessage(tool_calls=(call,)))


def to_messages(items: Sequence[dict[str, Any]], where: str = "input") -> list[Message]:
    """Neutral messages for ``items``; consecutive function calls join the assistant turn before them."""
    messages: list[Message] = []
    for i, raw in enumerate(items):
        item = parse_item(raw, f"{where}[{i}]")
        if isinstance(item, MessageItem):
            messages.append(_message(item, f"{where}[{i}]"))
        elif isinstance(item, FunctionCallItem):
            _with_call(messages, ToolCall(id=item.call_id, name=item.name, arguments=item.arguments))
        elif isinstance(item, FunctionCallOutputItem):
            output, _ = _text(item.output, f"{where}[{i}].output")
            messages.append(ToolMessage(item.call_id, output))
    return messages


def _stored_content(role: str, content: Any) -> Any:
    if not isinstance(content, str):
        return content
    if role == "assistant":
        return [{"type": "output_text", "text": content, "annotations": [], "logprobs": []}]
    return [{"type": "input_text", "text": content}]


def stored_items(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` as ``input_items`` lists them: each with its ``type`` and an ``id``, message content
    as parts, and the status a resource carries."""
    out: list[dict[str, Any]] = []
    for raw in items:
        kind = _kind(raw)
        item = {"type": kind, **raw}
        item.setdefault("id", new_id(_ID_PREFIXES.get(kind, "item_")))
        if kind == "message":
            item["content"] = _stored_content(str(item.get("role")), item.get("content"))
            item.setdefault("status", "completed")
        elif kind in ("function_call", "function_call_output"):
            item.setdefault("status", "completed")
        out.append(item)
    return out


def input_list(value: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The body's ``input`` as items: a string is one user message."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return value
