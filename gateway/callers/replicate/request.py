"""Neutral chat request -> Replicate prediction body (pure functions).

Replicate runs models, not a chat API: a language model takes a ``prompt``
string. We target the input schema of Meta's Llama 3 family on Replicate
(e.g. ``meta/meta-llama-3-8b-instruct``): ``prompt``, ``system_prompt``,
``max_tokens``, ``temperature``, ``top_p``, ``top_k``, ``presence_penalty``,
``frequency_penalty`` and ``stop_sequences`` (one comma-separated string). Other
models take the same names or ignore unknown inputs.

Rendering: system and developer messages are joined into ``system_prompt``. A
conversation of one user message is sent as the prompt itself; a longer one is
rendered as a transcript (``User: ...`` / ``Assistant: ...`` paragraphs), which
the model's own prompt template then wraps. Images, tool calls and tool results
have no place in a prompt string: they are refused with a 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.replicate.wire import NAME, ModelRef
from gateway.core import params as p
from gateway.core.messages import AssistantMessage, ImagePart, Message, SystemMessage, ToolMessage, UserMessage
from gateway.core.params import ModelParameters
from gateway.errors import InvalidRequestError

CHAT_PARAMETERS = frozenset(
    {p.NAME, p.TEMPERATURE, p.TOP_P, p.TOP_K, p.MAX_COMPLETION_TOKENS, p.STOP, p.PRESENCE_PENALTY,
     p.FREQUENCY_PENALTY}
)

_FLOATS = {p.TEMPERATURE: "temperature", p.TOP_P: "top_p", p.PRESENCE_PENALTY: "presence_penalty",
           p.FREQUENCY_PENALTY: "frequency_penalty"}
_INTS = {p.TOP_K: "top_k", p.MAX_COMPLETION_TOKENS: "max_tokens"}
_SPEAKERS = {"user": "User", "assistant": "Assistant"}


def _unsupported(what: str) -> InvalidRequestError:
    return InvalidRequestError(f"{NAME}: {what} cannot be sent to a Replicate language model.",
                               param="messages", code="unsupported_content", provider=NAME)


def _turn(message: UserMessage | AssistantMessage | ToolMessage) -> tuple[str, str]:
    if isinstance(message, ToolMessage):
        raise _unsupported("tool results")
    if isinstance(message, AssistantMessage):
        if message.tool_calls:
            raise _unsupported("assistant tool calls")
        return "assistant", message.content or ""
    if any(isinstance(part, ImagePart) for part in message.parts):
        raise _unsupported("image content")
    return "user", message.text


def render_prompt(messages: Sequence[Message]) -> tuple[str | None, str]:
    """``(system_prompt or None, prompt)`` for ``messages`` (see the module docstring)."""
    system = [m.content for m in messages if isinstance(m, SystemMessage)]
    turns = [_turn(m) for m in messages if not isinstance(m, SystemMessage)]
    if not any(role == "user" for role, _ in turns):
        raise InvalidRequestError(f"{NAME}: at least one user message is required.", param="messages")
    transcript = "\n\n".join(f"{_SPEAKERS[role]}: {text}" for role, text in turns)
    prompt = turns[0][1] if len(turns) == 1 else transcript
    return ("\n\n".join(system) if system else None), prompt


def _stop_sequences(mp: ModelParameters) -> str | None:
    stops = mp.get_str_list(p.STOP)
    if not stops:
        return None
    if any("," in stop for stop in stops):
        raise InvalidRequestError(
            f"{NAME}: stop sequences travel as one comma-separated string, so none may contain a comma.",
            param="stop",
        )
    return ",".join(stops)


def model_input(messages: Sequence[Message], mp: ModelParameters) -> dict[str, Any]:
    system, prompt = render_prompt(messages)
    out: dict[str, Any] = {"prompt": prompt}
    if system is not None:
        out["system_prompt"] = system
    for key, field in _FLOATS.items():
        if (fv := mp.get_float(key)) is not None:
            out[field] = fv
    for key, field in _INTS.items():
        if (iv := mp.get_int(key)) is not None:
            out[field] = iv
    if (stops := _stop_sequences(mp)) is not None:
        out["stop_sequences"] = stops
    return out


def prediction_body(ref: ModelRef, messages: Sequence[Message], mp: ModelParameters, *,
                    stream: bool) -> dict[str, Any]:
    """The body of "create a prediction" (``version`` only for versioned refs)."""
    body: dict[str, Any] = {}
    if ref.version:
        body["version"] = ref.version
    body["input"] = model_input(messages, mp)
    if stream:
        body["stream"] = True
    return body
