"""Decoding an OpenAI-format SSE stream (``data: {chunk}`` ... ``data: [DONE]``) for ``relay_stream``.

Shared by every caller whose provider streams chat-completion chunks (OpenAI and the servers
that copy its format); each brings its own chunk accumulator for its quirks. ``ChunkDecoder``
parses each event, checks the fields the accumulators rely on (``check_chunk``: a chunk of the
wrong shape is a 502, a bug in an accumulator is not), and ends the stream at ``[DONE]``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any, Protocol

import httpx
import orjson

from gateway.callers.base import AIOptions
from gateway.callers.http import ServerSentEvent, malformed
from gateway.callers.shapes import check, fields, objects
from gateway.callers.streams import event_object, relay_stream
from gateway.core.results import ChatResult, StreamEvent
from gateway.errors import GatewayError


class StreamAccumulator(Protocol):
    def feed(self, chunk: dict[str, Any]) -> Iterable[StreamEvent]:
        """The events one parsed (and checked) chunk produces."""
        ...

    def close(self) -> Iterable[StreamEvent]:
        """Events still pending when the stream ends (unfinished tool calls)."""
        ...

    @property
    def finished(self) -> bool:
        """Every choice seen reported a finish reason."""
        ...

    def result(self) -> ChatResult: ...



_STR = (str,)
_INT = (int,)
_OBJ = (dict,)


def check_chunk(chunk: dict[str, Any], *, content: tuple[type, ...] = _STR,
                arguments: tuple[type, ...] = _STR) -> None:
    """Check the fields of a ``chat.completion.chunk`` (or ``text_completion`` chunk) that the
    accumulators rely on; raises ``ShapeError``. ``content`` and ``arguments``: the types a
    dialect allows for ``delta.content`` and a tool call's ``function.arguments``."""
    fields(chunk, "chunk", id=_STR, model=_STR, system_fingerprint=_STR, service_tier=_STR)
    for position, choice in enumerate(objects(chunk.get("choices"), "chunk.choices")):
        where = f"chunk.choices[{position}]"
        fields(choice, where, index=_INT, finish_reason=_STR, delta=_OBJ)
        delta = choice.get("delta")
        if delta is None:
            continue
        where += ".delta"
        fields(delta, where, content=content, reasoning_content=_STR, reasoning=_STR, refusal=_STR)
        for number, fragment in enumerate(objects(delta.get("tool_calls"), where + ".tool_calls")):
            at = f"{where}.tool_calls[{number}]"
            fields(fragment, at, index=_INT, id=_STR, function=_OBJ)
            function = fragment.get("function")
            if function is not None:
                fields(function, at + ".function", name=_STR)
                check(function.get("arguments"), arguments, at + ".function.arguments")


def _no_error(_: dict[str, Any]) -> GatewayError | None:
    return None


class ChunkDecoder:
    """A ``StreamDecoder`` for OpenAI-format chunks around a chunk ``StreamAccumulator``.

    ``error_of`` turns an error chunk into the error to raise; ``check`` is the dialect's typed
    check of a chunk. The stream ends at ``[DONE]``; without it, it is complete only when every
    choice finished.
    """

    def __init__(self, accumulator: StreamAccumulator, provider: str,
                 error_of: Callable[[dict[str, Any]], GatewayError | None] = _no_error,
                 check: Callable[[dict[str, Any]], None] = check_chunk) -> None:
        self._accumulator = accumulator
        self._provider = provider
        self._error_of = error_of
        self._check = check
        self.ended = False

    def feed(self, event: ServerSentEvent) -> Iterable[StreamEvent]:
        if event.data == "[DONE]":
            self.ended = True
            return ()
        chunk = event_object(event.data, self._provider)
        error = self._error_of(chunk)
        if error is not None:
            raise error
        self._check(chunk)
        return self._accumulator.feed(chunk)

    @property
    def complete(self) -> bool:
        return self.ended or self._accumulator.finished

    def close(self) -> Iterable[StreamEvent]:
        return self._accumulator.close()

    def result(self) -> ChatResult:
        return self._accumulator.result()


def json_instead_of_stream(provider: str, error_of: Callable[[dict[str, Any]], GatewayError | None] = _no_error
                           ) -> Callable[[bytes], GatewayError]:
    """For ``relay_stream(json_body=...)``: the error a 2xx JSON answer to a stream request carries
    (some OpenAI-compatible servers answer so), or a malformed-response error."""
    def error(raw: bytes) -> GatewayError:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        found = error_of(body) if isinstance(body, dict) else None
        return found or malformed(provider, "a JSON body instead of an event stream")
    return error


def relay_chunks(
    response: httpx.Response,
    provider: str,
    accumulator: StreamAccumulator,
    options: AIOptions,
    error_of: Callable[[dict[str, Any]], GatewayError | None] = _no_error,
    check: Callable[[dict[str, Any]], None] = check_chunk,
) -> AsyncGenerator[StreamEvent, None]:
    """``relay_stream`` over OpenAI-format chunks: events as the chunks arrive, then pending tool
    calls, then one ``StreamEnd``. A stream that ends without ``[DONE]`` while a choice is
    unfinished raises ``upstream_stream_truncated``; a JSON body instead of a stream and a chunk
    of the wrong shape raise ``upstream_malformed_response``."""
    return relay_stream(response, ChunkDecoder(accumulator, provider, error_of, check), options,
                        provider=provider, json_body=json_instead_of_stream(provider, error_of))
