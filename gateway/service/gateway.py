"""The service the API calls: resolve the model, check what the provider can
honour, call it, and leave exactly one record per request.

Provider names never appear here: everything comes from the route's
``ProviderSpec``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from gateway.callers.base import (
    CallerContext,
    ChatCompletionOptions,
    Credential,
    CredentialVerifierOptions,
    EmbeddingOptions,
    LargeLanguageCaller,
    ProviderSpec,
    RequestContext,
    RerankerOptions,
)
from gateway.core import params as p
from gateway.core.ids import Snowflake
from gateway.core.params import ModelParameters
from gateway.core.requests import ChatCall
from gateway.core.results import (
    ChatResult,
    EmbeddingResult,
    RerankResult,
    StreamEnd,
    StreamEvent,
    Usage,
    Verification,
)
from gateway.errors import GatewayError, InvalidRequestError, UnsupportedParameterError
from gateway.service.routing import Route, Router
from gateway.service.tracking import CallInfo, Tracker
from gateway.store.records import RecordSink

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    drop_unsupported_params: bool = False


def internal_error(exc: BaseException) -> GatewayError:
    return GatewayError(f"Internal error while handling the request ({type(exc).__name__}).", code="internal_error")


class GatewayService:
    def __init__(self, router: Router, http: httpx.AsyncClient, sink: RecordSink,
                 options: ServiceOptions | None = None) -> None:
        self.router = router
        self._http = http
        self._sink = sink
        self._options = options or ServiceOptions()
        self._ids = Snowflake()

    def _tracker(self, info: CallInfo, model: str | None, stream: bool = False) -> Tracker:
        return Tracker(self._sink, info, self._ids.next_id(), model, stream)

    def _context(self, route: Route) -> CallerContext:
        return CallerContext(route.provider, self._http, route.credential, route.timeouts)

    def _request(self, info: CallInfo, tracker: Tracker) -> RequestContext:
        metadata = {k: str(v) for k, v in info.metadata.items()}
        return RequestContext(info.request_id, tracker.llm_request_id, metadata)

    def _factory(self, spec: ProviderSpec, capability: str, factory: Callable[[CallerContext], T] | None,
                 ) -> Callable[[CallerContext], T]:
        if factory is None:
            raise InvalidRequestError(
                f"Provider '{spec.name}' does not support {capability}.", param="model",
                code="unsupported_capability",
            )
        return factory

    def _parameters(self, route: Route, given: dict[str, Any], allowed: frozenset[str],
                    tracker: Tracker) -> ModelParameters:
        merged = ModelParameters(route.parameters).merged(given).merged({p.NAME: route.upstream_model})
        unsupported = sorted(k for k in merged if k not in allowed and k != p.NAME)
        if not unsupported:
            return merged
        if not self._options.drop_unsupported_params:
            raise UnsupportedParameterError(p.field_name(unsupported[0]), route.provider)
        tracker.note({"dropped_params": ",".join(p.field_name(k) for k in unsupported)})
        return merged.without(set(unsupported))

    def _chat_setup(self, call: ChatCall, model: str, tracker: Tracker) -> tuple[LargeLanguageCaller,
                                                                                   ChatCompletionOptions]:
        route = self.router.resolve(model)
        tracker.provider = route.provider
        tracker.model_answered = route.upstream_model
        tracker.secrets = route.credential.secrets()
        spec = route.spec
        factory = self._factory(spec, "chat completions", spec.llm)
        if call.stream and not spec.streaming:
            raise InvalidRequestError(f"Provider '{spec.name}' does not support streaming.", param="stream")
        if call.tools and not spec.tools:
            raise InvalidRequestError(f"Provider '{spec.name}' does not support tools.", param="tools")
        if route.alias:
            tracker.note({"alias": route.alias})
        params = self._parameters(route, call.parameters, spec.chat_parameters, tracker)
        options = ChatCompletionOptions(self._request(tracker.info, tracker), params, tool_definitions=call.tools)
        return factory(self._context(route)), options

    async def chat(self, call: ChatCall, model: str, info: CallInfo) -> ChatResult:
        """A whole completion; the record is written whatever happens."""
        tracker = self._tracker(info, model)

        async def run() -> ChatResult:
            caller, options = self._chat_setup(call, model, tracker)
            return await caller.get_chat_completion(call.messages, options)

        result = await self._tracked(tracker, run())
        tracker.succeed(result.usage, result.model)
        return result

    async def stream_chat(self, call: ChatCall, model: str, info: CallInfo) -> AsyncGenerator[StreamEvent, None]:
        """Events as the caller yields them. The consumer must ``aclose`` this
        iterator; closing it early records the request as ``CANCELLED``."""
        tracker = self._tracker(info, model, stream=True)
        stream: AsyncIterator[StreamEvent] | None = None
        try:
            caller, options = self._chat_setup(call, model, tracker)
            stream = caller.stream_chat_completion(call.messages, options)
            async for event in stream:
                if isinstance(event, StreamEnd):
                    tracker.succeed(event.result.usage, event.result.model)
                else:
                    tracker.mark_delta()
                yield event
        except GatewayError as exc:
            tracker.fail(exc)
            raise
        except Exception as exc:
            error = internal_error(exc)
            tracker.fail(error)
            raise error from exc
        finally:
            tracker.cancel()
            if stream is not None:
                await _close(stream)

    async def embed(self, inputs: Sequence[str], parameters: dict[str, Any], model: str,
                    info: CallInfo) -> EmbeddingResult:
        tracker = self._tracker(info, model)

        async def run() -> EmbeddingResult:
            route = self.router.resolve(model)
            tracker.provider, tracker.model_answered = route.provider, route.upstream_model
            tracker.secrets = route.credential.secrets()
            factory = self._factory(route.spec, "embeddings", route.spec.embedding)
            params = self._parameters(route, parameters, route.spec.embedding_parameters, tracker)
            options = EmbeddingOptions(self._request(info, tracker), params)
            return await factory(self._context(route)).get_embedding(inputs, options)

        result = await self._tracked(tracker, run())
        tracker.succeed(result.usage, result.model)
        return result

    async def rerank(self, query: str, documents: Sequence[str], parameters: dict[str, Any], model: str,
                     info: CallInfo) -> RerankResult:
        tracker = self._tracker(info, model)

        async def run() -> RerankResult:
            route = self.router.resolve(model)
            tracker.provider, tracker.model_answered = route.provider, route.upstream_model
            tracker.secrets = route.credential.secrets()
            factory = self._factory(route.spec, "reranking", route.spec.reranking)
            params = self._parameters(route, parameters, route.spec.rerank_parameters, tracker)
            options = RerankerOptions(self._request(info, tracker), params)
            return await factory(self._context(route)).get_reranking(query, documents, options)

        result = await self._tracked(tracker, run())
        tracker.succeed(result.usage, result.model)
        return result

    async def verify(self, provider: str, credential: Credential, info: CallInfo) -> Verification:
        """Check ``credential`` (or, if empty, the configured one) with the provider's free call."""
        tracker = self._tracker(info, None)
        tracker.provider = provider

        async def run() -> Verification:
            spec = self.router.registry.get(provider)
            factory = self._factory(spec, "credential verification", spec.verifier)
            effective = credential or self.router.credential(provider)
            tracker.secrets = effective.secrets()
            if not spec.is_configured(effective):
                missing = [k for k in spec.required_credentials if not effective.get(k)]
                raise InvalidRequestError(
                    f"Provider '{provider}' needs the credential key(s) {', '.join(missing)}.",
                    param="credential",
                )
            ctx = CallerContext(provider, self._http, effective, self.router.timeouts(provider))
            return await factory(ctx).verify_credential(CredentialVerifierOptions(self._request(info, tracker)))

        result = await self._tracked(tracker, run())
        tracker.note({"credential_valid": result.valid})
        tracker.succeed(Usage())
        return result

    async def _tracked(self, tracker: Tracker, work: Awaitable[T]) -> T:
        try:
            return await work
        except GatewayError as exc:
            tracker.fail(exc)
            raise
        except asyncio.CancelledError:
            tracker.cancel()
            raise
        except Exception as exc:
            error = internal_error(exc)
            tracker.fail(error)
            raise error from exc


async def _close(stream: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()
