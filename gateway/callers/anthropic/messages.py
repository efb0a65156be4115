"""Neutral messages -> Anthropic ``system`` blocks and ``messages`` (pure functions).

Reference: Anthropic API docs, "Messages" (POST /v1/messages) and "Tool use":

* system and developer messages become top-level ``system`` text blocks, in order,
  wherever they stood in the conversation (the Messages API has no system role);
* user parts become ``text`` and ``image`` blocks (``base64`` source for ``data:``
  URLs, ``url`` source for http(s) URLs); OpenAI's image ``detail`` hint has no
  Anthropic counterpart and is not sent; empty text parts are left out (the API
  refuses empty text blocks);
* assistant tool calls become ``tool_use`` blocks whose ``input`` is the parsed
  arguments object - arguments that are not a JSON object are a 400 naming the
  message, never skipped;
* tool results become ``tool_result`` blocks in a *user* message;
* consecutive messages of one role are merged into one, since the API requires
  user and assistant turns to alternate; in a merged user turn the ``tool_result``
  blocks come first, as the API requires (text keeps its order after them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from gateway.core.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from gateway.errors import InvalidRequestError

Block = dict[str, Any]


def image_block(part: ImagePart, where: str) -> Block:
    """An ``image`` block; raises ``InvalidRequestError`` for URLs Anthropic cannot take."""
    if part.is_data_url:
        try:
            media_type, data = part.split_data_url()
        except ValueError:
            raise InvalidRequestError(
                f"'{where}.image_url.url' must be a base64 data URL (data:<type>;base64,...).",
                param=f"{where}.image_url.url",
            ) from None
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if part.url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    raise InvalidRequestError(
        f"'{where}.image_url.url' must be an http(s) URL or a base64 data URL.", param=f"{where}.image_url.url"
    )


def _user_blocks(message: UserMessage, where: str) -> list[Block]:
    blocks: list[Block] = []
    for i, part in enumerate(message.parts):
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(image_block(part, f"{where}.content[{i}]"))
    if not blocks:
        raise InvalidRequestError(f"'{where}.content' must not be empty.", param=f"{where}.content")
    return blocks


def tool_input(call: ToolCall, where: str) -> dict[str, Any]:
    """The parsed arguments of ``call``; empty arguments mean ``{}``."""
    if not call.arguments.strip():
        return {}
    try:
        value = orjson.loads(call.arguments)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidRequestError(
            f"'{where}' has tool call '{call.id}' whose 'function.arguments' is not a JSON object; "
            "Anthropic needs the arguments as an object.",
            param=f"{where}.tool_calls",
        )
    return value


def _assistant_blocks(message: AssistantMessage, where: str) -> list[Block]:
    blocks: list[Block] = []
    for text in (message.content, message.refusal):
        if text:
            blocks.append({"type": "text", "text": text})
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input(call, where)})
    return blocks


def _tool_result(message: ToolMessage) -> Block:
    block: Block = {"type": "tool_result", "tool_use_id": message.tool_call_id}
    if message.content:
        block["content"] = message.content
    return block


def _append(turns: list[Block], role: str, blocks: list[Block]) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def to_anthropic_messages(messages: Sequence[Message]) -> tuple[list[Block], list[Block]]:
    """Return ``(system_blocks, messages)`` for the request body.

    An assistant message with neither text nor tool calls adds nothing (there is
    nothing to send); every other message is translated or raises.
    """
    system: list[Block] = []
    turns: list[Block] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if isinstance(message, SystemMessage):
            if message.content:
                system.append({"type": "text", "text": message.content})
        elif isinstance(message, UserMessage):
            _append(turns, "user", _user_blocks(message, where))
        elif isinstance(message, AssistantMessage):
            _append(turns, "assistant", _assistant_blocks(message, where))
        else:
            _append(turns, "user", [_tool_result(message)])
    for turn in turns:
        if turn["role"] == "user":
            content = turn["content"]
            turn["content"] = [b for b in content if b["type"] == "tool_result"] + [
                b for b in content if b["type"] != "tool_result"
            ]
    return system, turns
