"""``TextCompletionCaller`` for OpenAI-format legacy Completions APIs (``POST /completions``).

Reference: OpenAI API, "Completions" (legacy): the request takes ``prompt``; the response and each
stream chunk are ``text_completion`` objects whose choices carry ``text``, ``index``, ``logprobs``
and ``finish_reason``; with ``stream_options.include_usage`` a last chunk with empty ``choices``
carries the usage. llama.cpp, vLLM and the other compatible servers answer in the same shape.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from gateway.callers.base import CallerContext, TextCompletionOptions
from gateway.callers.http import malformed, open_stream, request_json
from gateway.callers.openai.llm import stream_error
from gateway.callers.openai.request import FIELDS
from gateway.callers.openai.response import finish_reason, usage_from_openai
from gateway.callers.openai.stream import relay_chunks
from gateway.callers.openai.wire import OpenAIWire
from gateway.callers.shapes import ShapeError, fields, objects
from gateway.core import params as p
from gateway.core.json import JSONValue
from gateway.core.results import ChatResult, Choice, FinishReason, StreamEvent, TextDelta, Usage
from gateway.errors import GatewayError

PATH = "completions"


def to_openai_completion(body: Mapping[str, Any], options: TextCompletionOptions, wire: OpenAIWire, *,
                         stream: bool) -> dict[str, Any]:
    """The client's body with the upstream model; an alias's defaults fill fields the client left out.
    A stream asks for usage (when the server takes ``stream_options``) so the record has it."""
    mp = options.model_parameter
    defaults = mp.project(FIELDS)
    if (limit := mp.get_int(p.MAX_COMPLETION_TOKENS)) is not None:
        defaults["max_tokens"] = limit
    out: dict[str, Any] = {**defaults, **body, "model": options.model}
    if stream:
        out["stream"] = True
        if wire.quirks.stream_usage:
            out["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return out


def _choice(raw: Any, position: int) -> Choice:
    return Choice(index=int(raw.get("index", position)), content=str(raw.get("text") or ""),
                  finish_reason=finish_reason(raw.get("finish_reason")) or "stop",
                  logprobs=cast(JSONValue, raw.get("logprobs")))


def from_openai_completion(body: Any, provider: str) -> ChatResult:
    """A ``text_completion`` object as a neutral result; raises ``UpstreamError`` (malformed) otherwise."""
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        raise malformed(provider, "no 'choices' in the completion")
    try:
        fields(body, "completion", id=(str,), model=(str,), system_fingerprint=(str,))
        for position, raw in enumerate(objects(body["choices"], "completion.choices")):
            fields(raw, f"completion.choices[{position}]", index=(int,), finish_reason=(str,))
    except ShapeError as exc:
        raise malformed(provider, "the completion has an unexpected shape") from exc
    choices = tuple(_choice(raw, i) for i, raw in enumerate(body["choices"]))
    return ChatResult(choices=choices, usage=usage_from_openai(body.get("usage")), model=body.get("model"),
                      provider_request_id=body.get("id"), system_fingerprint=body.get("system_fingerprint"))


@dataclass(slots=True)
class _State:
    text: list[str] = field(default_factory=list)
    finish: FinishReason | None = None


class TextChunkAccumulator:
    """Turns ``text_completion`` stream chunks into ``TextDelta`` events (a ``StreamAccumulator``)."""

    def __init__(self) -> None:
        self._choices: dict[int, _State] = {}
        self.usage = Usage()
        self.model: str | None = None
        self.id: str | None = None

    def feed(self, chunk: dict[str, Any]) -> Iterator[StreamEvent]:
        self.id = self.id or chunk.get("id")
        self.model = chunk.get("model") or self.model
        if chunk.get("usage"):
            self.usage = usage_from_openai(chunk["usage"])
        for raw in chunk.get("choices") or ():
            index = int(raw.get("index", 0))
            state = self._choices.setdefault(index, _State())
            text = raw.get("text")
            if text:
                state.text.append(str(text))
                yield TextDelta(str(text), index, cast(JSONValue, raw.get("logprobs")))
            if raw.get("finish_reason"):
                state.finish = finish_reason(raw["finish_reason"])

    def close(self) -> Iterator[StreamEvent]:
        return iter(())

    @property
    def finished(self) -> bool:
        return bool(self._choices) and all(s.finish is not None for s in self._choices.values())

    def result(self) -> ChatResult:
        choices = tuple(Choice(index=i, content="".join(s.text), finish_reason=s.finish or "stop")
                        for i, s in sorted(self._choices.items()))
        return ChatResult(choices=choices or (Choice(content=""),), usage=self.usage, model=self.model,
                          provider_request_id=self.id)


def _error_chunk(chunk: dict[str, Any], provider: str) -> GatewayError | None:
    return stream_error(chunk, provider) if "error" in chunk and not chunk.get("choices") else None


class OpenAITextCompletionCaller:
    def __init__(self, ctx: CallerContext, wire: OpenAIWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_text_completion(self, body: Mapping[str, Any], options: TextCompletionOptions) -> ChatResult:
        wire = self._wire
        sent = to_openai_completion(body, options, wire, stream=False)
        options.before(sent)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url(PATH, options.model), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, params=wire.query, json=sent,
        )
        options.after(data)
        if isinstance(data, dict) and "error" in data and "choices" not in data:
            raise stream_error(data, wire.provider)
        return from_openai_completion(data, wire.provider)

    async def stream_text_completion(self, body: Mapping[str, Any],
                                     options: TextCompletionOptions) -> AsyncGenerator[StreamEvent, None]:
        wire = self._wire
        sent = to_openai_completion(body, options, wire, stream=True)
        options.before(sent)
        async with open_stream(
            self._ctx.http, "POST", wire.url(PATH, options.model), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, params=wire.query, json=sent,
        ) as response:
            async for item in relay_chunks(response, wire.provider, TextChunkAccumulator(), options,
                                           lambda chunk: _error_chunk(chunk, wire.provider)):
                yield item
