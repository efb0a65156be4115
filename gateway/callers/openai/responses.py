"""``NativeCaller`` for OpenAI's Responses API: client bodies relayed as sent.

Reference: OpenAI API reference, "Responses" (``POST /responses``, ``GET /responses/{id}``,
``DELETE /responses/{id}``, ``GET /responses/{id}/input_items``, ``POST /responses/input_tokens``)
and "Streaming events". The body keeps every field the client sent (built-in tools,
``reasoning``, ``include``, ``store``, ``previous_response_id``, ``background``); only ``model``
becomes the upstream model. The stream is relayed event by event, as the upstream numbered it;
usage for the record comes from the terminal event's ``response``.

A server speaks the format when its credential says so: ``responses_api`` is ``native`` (the
default for OpenAI and Azure) or ``translated`` (OpenAI-compatible servers without the
endpoint; the gateway then serves ``/v1/responses`` through chat completions).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

import orjson

from gateway.callers.base import AIOptions, CallerContext, Credential
from gateway.callers.http import iter_sse, malformed, open_stream, request_json, sse_frame
from gateway.callers.openai.llm import stream_error
from gateway.callers.openai.wire import OpenAIWire
from gateway.callers.streams import drain, truncated
from gateway.core.native import NativeEnd, NativeEvent, NativeFrame, NativeReply, NativeRequest
from gateway.core.results import Usage
from gateway.errors import GatewayError, InvalidRequestError, UpstreamError

FORMAT = "openai-responses"
"""The wire format this caller relays (its key in ``ProviderSpec.natives``)."""

MODE_KEY = "responses_api"
"""The credential key choosing how ``/v1/responses`` reaches the provider."""
MODES = ("native", "translated")
PATH = "responses"
TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
"""The events that end a Responses stream (an ``error`` event ends it too)."""
PASSED_HEADERS = frozenset({"openai-beta"})


def relays(credential: Credential, provider: str) -> bool:
    """Whether ``/v1/responses`` is relayed natively for ``credential`` (``native`` unless it says
    ``translated``); any other value is a 400 naming the setting."""
    mode = credential.get(MODE_KEY) or MODES[0]
    if mode not in MODES:
        raise InvalidRequestError(f"Provider '{provider}' has responses_api '{mode}'; use 'native' or "
                                  "'translated'.", param="model", code="invalid_provider_setting")
    return mode == "native"


def native_factory(wire: Callable[[Credential], OpenAIWire]) -> Callable[[CallerContext], OpenAIResponsesCaller | None]:
    """The ``natives`` entry of a provider whose wire ``wire(credential)`` builds."""

    def build(ctx: CallerContext) -> OpenAIResponsesCaller | None:
        return OpenAIResponsesCaller(ctx, wire(ctx.credential)) if relays(ctx.credential, ctx.provider) else None

    return build


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def responses_usage(raw: Any) -> Usage:
    """``Usage`` from a Response's ``usage`` object."""
    if not isinstance(raw, dict):
        return Usage()
    inputs, outputs = raw.get("input_tokens_details"), raw.get("output_tokens_details")
    return Usage(
        input_tokens=_count(raw.get("input_tokens")), output_tokens=_count(raw.get("output_tokens")),
        total_tokens=_count(raw.get("total_tokens")),
        cached_input_tokens=_count(inputs.get("cached_tokens")) if isinstance(inputs, dict) else None,
        reasoning_tokens=_count(outputs.get("reasoning_tokens")) if isinstance(outputs, dict) else None,
    )


def _model(response: Mapping[str, Any]) -> str | None:
    model = response.get("model")
    return model if isinstance(model, str) else None


def failure(response: Mapping[str, Any], provider: str) -> UpstreamError:
    """The error a ``failed`` Response reports."""
    error = response.get("error")
    detail = error if isinstance(error, dict) else {}
    message, code = detail.get("message"), detail.get("code")
    return UpstreamError(f"{provider}: {message if isinstance(message, str) else 'the response failed'}",
                         code=code if isinstance(code, str) else "upstream_response_failed", provider=provider)


class _Relay:
    """What a relayed stream has shown so far: the next sequence number and the latest snapshot
    of the response, for a ``response.failed`` of the gateway's own when the upstream breaks off."""

    def __init__(self) -> None:
        self.next_sequence = 0
        self.snapshot: dict[str, Any] = {}
        self.final: dict[str, Any] | None = None
        self.error: GatewayError | None = None

    def feed(self, kind: str, data: Any, provider: str) -> None:
        if not isinstance(data, dict):
            raise malformed(provider, "a stream event is not an object")
        sequence = data.get("sequence_number")
        if isinstance(sequence, int):
            self.next_sequence = sequence + 1
        response = data.get("response")
        if isinstance(response, dict):
            self.snapshot = response
        if kind in TERMINAL and isinstance(response, dict):
            self.final = response
            if kind == "response.failed":
                self.error = failure(response, provider)
        elif kind == "error":
            self.final = {}
            self.error = stream_error({"error": data}, provider)

    def failed_frame(self, error: GatewayError) -> bytes:
        response = {**self.snapshot, "status": "failed",
                    "error": {"code": "server_error", "message": error.message}}
        event = {"type": "response.failed", "sequence_number": self.next_sequence, "response": response}
        return b"event: response.failed\ndata: " + orjson.dumps(event) + b"\n\n"


class OpenAIResponsesCaller:
    def __init__(self, ctx: CallerContext, wire: OpenAIWire) -> None:
        self._ctx = ctx
        self._wire = wire

    def _headers(self, request: NativeRequest | None = None) -> dict[str, str]:
        passed = {k.lower(): v for k, v in (request.headers if request else {}).items()
                  if k.lower() in PASSED_HEADERS}
        return {**self._wire.headers, **passed}

    async def _call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None,
                    request: NativeRequest | None = None) -> Any:
        wire = self._wire
        data, _ = await request_json(
            self._ctx.http, method, wire.url(path), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=self._headers(request), params={**wire.query, **(params or {})}, json=json,
        )
        if not isinstance(data, dict):
            raise malformed(wire.provider, "the answer is not an object")
        return data

    async def send(self, request: NativeRequest, options: AIOptions) -> NativeReply:
        body = {**request.body, "model": options.model}
        options.before(body)
        data = await self._call("POST", PATH, json=body, request=request)
        options.after(data)
        return NativeReply(orjson.dumps(data), responses_usage(data.get("usage")), _model(data), self._wire.provider)

    async def stream(self, request: NativeRequest, options: AIOptions) -> AsyncGenerator[NativeEvent, None]:
        wire = self._wire
        body = {**request.body, "model": options.model}
        options.before(body)
        relay = _Relay()
        started = False
        try:
            async with open_stream(
                self._ctx.http, "POST", wire.url(PATH), provider=wire.provider, timeouts=self._ctx.timeouts,
                headers=self._headers(request), params=wire.query, json=body,
            ) as response:
                events = iter_sse(response, wire.provider)
                async for event in events:
                    try:
                        data = orjson.loads(event.data)
                    except orjson.JSONDecodeError as exc:
                        raise malformed(wire.provider, "a stream event is not JSON") from exc
                    relay.feed(event.event if event.event != "message" else str(data.get("type", "")),
                               data, wire.provider)
                    started = True
                    yield NativeFrame(sse_frame(event), relay.final or None, wire.provider)
                    if relay.final is not None:
                        await drain(events)
                        break
            if relay.final is None:
                raise truncated(wire.provider, "its terminal event")
        except GatewayError as exc:
            if not started:
                raise
            yield NativeFrame(relay.failed_frame(exc))
            yield NativeEnd(responses_usage(relay.snapshot.get("usage")), _model(relay.snapshot), wire.provider, exc)
            return
        final = relay.final
        options.after({"usage": final.get("usage")})
        yield NativeEnd(responses_usage(final.get("usage")), _model(final), wire.provider, relay.error)

    async def count_tokens(self, request: NativeRequest, options: AIOptions) -> int:
        body = {k: v for k, v in request.body.items() if k not in ("stream", "store", "stream_options")}
        data = await self._call("POST", f"{PATH}/input_tokens", json={**body, "model": options.model}, request=request)
        tokens = _count(data.get("input_tokens"))
        if tokens is None:
            raise malformed(self._wire.provider, "no 'input_tokens' in the count")
        return tokens

    async def resource(self, method: str, path: str, params: Mapping[str, str], options: AIOptions) -> NativeReply:
        data = await self._call(method, f"{PATH}/{path}", params=params)
        return NativeReply(orjson.dumps(data), provider=self._wire.provider)
