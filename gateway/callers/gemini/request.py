"""Neutral request -> ``GenerateContentRequest`` body (pure functions).

Reference: Gemini API reference "Generating content"
(https://ai.google.dev/api/generate-content#request-body) and "Function calling"
guide (https://ai.google.dev/gemini-api/docs/function-calling).

* system and developer messages -> ``systemInstruction`` (in order, wherever they
  stand: Gemini has no mid-conversation system turn);
* user -> role ``user``: text parts; ``data:`` images -> ``inlineData``; URLs whose
  scheme the endpoint reads (Vertex: ``gs://``) -> ``fileData``; other URLs -> 400;
* assistant -> role ``model``: a text part and ``functionCall{name, args}`` parts
  (with the thought signature carried in the call id, see ``calls``);
* tool -> role ``user`` with ``functionResponse{name, response}``; the name comes
  from the earlier assistant call with that id; ``response`` is the result when it
  is a JSON object, else ``{"result": <text>}``. Consecutive tool messages share
  one turn, as Gemini expects one response part per call of the previous turn.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from typing import Any

import orjson

from gateway.callers.base import ChatCompletionOptions
from gateway.callers.gemini.calls import split_call_id
from gateway.callers.gemini.generation import generation_config
from gateway.callers.gemini.tools import tool_config, tools_field
from gateway.callers.gemini.wire import Quirks
from gateway.core import params as p
from gateway.core.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)
from gateway.errors import InvalidRequestError

SAFETY_SETTINGS = "model.safety_settings"
"""Gemini's ``safetySettings`` list, passed through as given."""

CHAT_PARAMETERS = frozenset({
    p.NAME, p.TEMPERATURE, p.TOP_P, p.TOP_K, p.MAX_COMPLETION_TOKENS, p.STOP, p.N, p.SEED, p.PRESENCE_PENALTY,
    p.FREQUENCY_PENALTY, p.RESPONSE_FORMAT, p.TOOL_CHOICE, p.REASONING_EFFORT, p.THINKING, SAFETY_SETTINGS,
})


def _image_part(part: ImagePart, where: str, quirks: Quirks) -> dict[str, Any]:
    if part.is_data_url:
        try:
            media_type, data = part.split_data_url()
        except ValueError:
            raise InvalidRequestError(f"'{where}' is a data: URL without base64 content.", param=where) from None
        return {"inlineData": {"mimeType": media_type, "data": data}}
    if quirks.file_uri_schemes and part.url.startswith(quirks.file_uri_schemes):
        guessed, _ = mimetypes.guess_type(part.url)
        if guessed is None:
            raise InvalidRequestError(f"'{where}': cannot tell the image type of {part.url!r} from its name.",
                                      param=where)
        return {"fileData": {"mimeType": guessed, "fileUri": part.url}}
    accepted = " or ".join(("a base64 data: URL", *(f"a {s} URI" for s in quirks.file_uri_schemes)))
    raise InvalidRequestError(f"'{where}': this provider cannot fetch image URLs; send {accepted}.", param=where)


def _user_parts(message: UserMessage, where: str, quirks: Quirks) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(message.parts):
        if isinstance(part, TextPart):
            parts.append({"text": part.text})
        else:
            parts.append(_image_part(part, f"{where}.content[{j}].image_url", quirks))
    return parts


def _arguments(arguments: str, where: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"'{where}' must be a JSON object.", param=where)
    return value


def _model_content(message: AssistantMessage, where: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    text = message.content or message.refusal
    if text or not message.tool_calls:
        parts.append({"text": text or ""})
    for j, call in enumerate(message.tool_calls):
        _, signature = split_call_id(call.id)
        part: dict[str, Any] = {
            "functionCall": {"name": call.name,
                             "args": _arguments(call.arguments, f"{where}.tool_calls[{j}].function.arguments")}}
        if signature:
            part["thoughtSignature"] = signature
        parts.append(part)
    return {"role": "model", "parts": parts}


def _function_response(message: ToolMessage, names: dict[str, str], where: str) -> dict[str, Any]:
    name = names.get(message.tool_call_id) or message.name
    if not name:
        raise InvalidRequestError(
            f"'{where}.tool_call_id' ({message.tool_call_id!r}) matches no tool call of an earlier assistant message.",
            param=f"{where}.tool_call_id",
        )
    try:
        parsed = orjson.loads(message.content)
    except orjson.JSONDecodeError:
        parsed = None
    response = parsed if isinstance(parsed, dict) else {"result": message.content}
    return {"functionResponse": {"name": name, "response": response}}


def to_contents(messages: Sequence[Message], quirks: Quirks) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(systemInstruction parts, contents)``."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    tool_turn: dict[str, Any] | None = None
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if isinstance(message, ToolMessage):
            part = _function_response(message, names, where)
            if tool_turn is None:
                tool_turn = {"role": "user", "parts": []}
                contents.append(tool_turn)
            tool_turn["parts"].append(part)
            continue
        tool_turn = None
        if isinstance(message, SystemMessage):
            system.append({"text": message.content})
        elif isinstance(message, UserMessage):
            contents.append({"role": "user", "parts": _user_parts(message, where, quirks)})
        else:
            contents.append(_model_content(message, where))
            names.update({call.id: call.name for call in message.tool_calls})
    return system, contents


def to_gemini_request(messages: Sequence[Message], options: ChatCompletionOptions, quirks: Quirks) -> dict[str, Any]:
    """The request body; the model goes in the URL, not here."""
    system, contents = to_contents(messages, quirks)
    if not contents:
        raise InvalidRequestError("'messages' needs at least one user, assistant or tool message.", param="messages")
    mp = options.model_parameter
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if options.tool_definitions:
        body["tools"] = tools_field(options.tool_definitions)
    if (config := tool_config(mp, options.tool_definitions)) is not None:
        body["toolConfig"] = config
    if generation := generation_config(mp):
        body["generationConfig"] = generation
    safety = mp.get_json(SAFETY_SETTINGS)
    if safety is not None:
        if not isinstance(safety, list):
            raise InvalidRequestError("'safety_settings' must be a list of {category, threshold}.",
                                      param="safety_settings")
        body["safetySettings"] = safety
    return body
