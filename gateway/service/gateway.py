"""The service the API calls: resolve the model, check what the provider can
honour, call it (with retries and fallbacks), and leave exactly one record per request.

Provider names never appear here: everything comes from the route's ``ProviderSpec``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, cast

import httpx

from gateway.callers.base import (
    AIOptions,
    CallerContext,
    ChatCompletionOptions,
    Credential,
    CredentialVerifierOptions,
    EmbeddingOptions,
    LargeLanguageCaller,
    NativeCaller,
    NativeResources,
    ProviderSpec,
    RequestContext,
    RerankerOptions,
    TextCompletionCaller,
    TextCompletionOptions,
)
from gateway.core import params as p
from gateway.core.ids import Snowflake
from gateway.core.native import NativeEnd, NativeEvent, NativeReply, NativeRequest
from gateway.core.params import ModelParameters
from gateway.core.requests import ChatCall, TextCall, TokenInput
from gateway.core.results import (
    ChatResult,
    EmbeddingResult,
    RerankResult,
    StreamEnd,
    StreamEvent,
    Usage,
    Verification,
)
from gateway.errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    UnsupportedParameterError,
    missing_credential,
)
from gateway.service import estimate, upstream_log
from gateway.service.capture import BodyCapture, known_secrets
from gateway.service.completions import chats_for, merged
from gateway.service.credentials import credential_to_verify
from gateway.service.model_list import ModelCatalog, UpstreamModel
from gateway.service.pricing import PriceTable
from gateway.service.resilience import Attempt, Cooldowns, RetryPolicy, falls_back
from gateway.service.routing import Route, Router
from gateway.service.tracking import CallInfo, Tracker
from gateway.store.records import RecordSink

T = TypeVar("T")
E = TypeVar("E", bound=StreamEvent | NativeEvent)

log = logging.getLogger("gateway.service")


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    drop_unsupported_params: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    cooldown_failures: int = 3
    cooldown_seconds: float = 30.0
    prices: PriceTable | None = None
    node_id: int | None = None
    capture_bodies: bool = False
    secrets: tuple[str, ...] = ()
    """Values masked in captured bodies besides the provider credentials (the master key)."""
    catalog_wait: float = 2.0
    """How long a bare model name waits for the providers' model lists (see ``_bare_routes``)."""


def internal_error(exc: BaseException) -> GatewayError:
    return GatewayError(f"Internal error while handling the request ({type(exc).__name__}).", code="internal_error")


def _factory(spec: ProviderSpec, capability: str, factory: Callable[[CallerContext], T] | None,
             ) -> Callable[[CallerContext], T]:
    if factory is None:
        raise InvalidRequestError(f"Provider '{spec.name}' does not support {capability}.", param="model",
                                  code="unsupported_capability")
    return factory


def _require_credentials(route: Route) -> None:
    """A clear 401 naming what to set, before any provider call."""
    missing = route.spec.missing_credentials(route.credential)
    if not missing:
        return
    env = route.spec.credential_env
    hints = [" or ".join(env.get(k, k) for k in need.split("|")) for need in missing]
    raise missing_credential(f"No credential is configured for provider '{route.provider}': set {', '.join(hints)} "
                             "(or give it in the config file).", route.provider)


class GatewayService:
    def __init__(self, router: Router, http: httpx.AsyncClient, sink: RecordSink,
                 options: ServiceOptions | None = None, catalog: ModelCatalog | None = None) -> None:
        self.router = router
        self._catalog = catalog
        self._warming: set[asyncio.Task[list[UpstreamModel]]] = set()
        self._http = http
        self._sink = sink
        self._options = options or ServiceOptions()
        self._ids = Snowflake.for_process(self._options.node_id)
        self._cooldowns = Cooldowns(self._options.cooldown_failures, self._options.cooldown_seconds)
        self._secrets = known_secrets(router, *self._options.secrets) if self._options.capture_bodies else []
        self._bound: dict[tuple[object, ...], object] = {}

    def _tracker(self, info: CallInfo, model: str | None, stream: bool = False) -> Tracker:
        info.timing.model = model
        return Tracker(self._sink, info, self._ids.next_id(), model, stream, self._options.prices)

    def _hooks(self, tracker: Tracker, route: Route) -> dict[str, Any]:
        """``pre_hook``/``post_hook`` keeping the provider bodies, redacted, when body capture is on."""
        if not self._options.capture_bodies:
            return {}
        if tracker.capture is None:
            tracker.capture = BodyCapture(self._secrets)
        tracker.capture.also_mask(route.credential.secrets())
        return {"pre_hook": tracker.capture.on_request, "post_hook": tracker.capture.on_response}

    def _context(self, route: Route) -> CallerContext:
        return CallerContext(route.provider, self._http, route.credential, route.timeouts)

    def _bind(self, route: Route, kind: str, factory: Callable[[CallerContext], T]) -> T:
        """The ``kind`` caller of the route's deployment (provider, credential, timeouts), built by
        ``factory`` on first use and kept for the service's life: its wire, parsed credential and
        token caches are made once, not per attempt. Callers keep no per-request state. A factory
        that raises (a credential it cannot use) caches nothing, so the next request asks again."""
        key = (kind, route.provider, route.credential, route.timeouts)
        if key in self._bound:
            return cast(T, self._bound[key])
        caller = factory(self._context(route))
        self._bound[key] = caller
        return caller

    def _request(self, tracker: Tracker) -> RequestContext:
        metadata = {k: str(v) for k, v in tracker.info.metadata.items()}
        return RequestContext(tracker.info.request_id, tracker.llm_request_id, metadata)

    def _parameters(self, route: Route, given: dict[str, Any], allowed: frozenset[str],
                    tracker: Tracker, extra: Mapping[str, Any] | None = None) -> ModelParameters:
        """The ``model.*`` map for ``route``. A key it does not honour, or an unmodelled field in
        ``extra`` (``ChatCall.extra``) when the provider does not speak OpenAI's format, is an
        ``UnsupportedParameterError``, or dropped and noted when the operator allows."""
        merged = ModelParameters(route.parameters).merged(given).merged({p.NAME: route.upstream_model})
        unsupported = sorted(k for k in merged if k not in allowed and k != p.NAME)
        names = [p.field_name(k) for k in unsupported]
        if extra and not route.spec.openai_format:
            names += sorted(extra)
        if not names:
            return merged
        if not self._options.drop_unsupported_params:
            raise UnsupportedParameterError(names[0], route.provider)
        tracker.note({"dropped_params": ",".join(names)})
        return merged.without(set(unsupported))

    @staticmethod
    def _extra_body(route: Route, call: ChatCall) -> Mapping[str, Any]:
        return call.extra if route.spec.openai_format else {}

    async def _routes(self, model: str, info: CallInfo) -> list[Route]:
        """The model's deployments and fallbacks, less those the caller's key may not use."""
        allowed = info.allowed_models
        if allowed is not None and model not in allowed:
            raise PermissionDeniedError(f"This API key may not use the model '{model}'.", param="model",
                                        code="model_not_allowed")
        if self._catalog is not None and self.router.needs_model_lists(model):
            routes = await self._bare_routes(model)
        else:
            routes = self.router.chain(model)
        return routes if allowed is None else [route for route in routes if route.public_model in allowed]

    async def _bare_routes(self, model: str) -> list[Route]:
        """The route of a bare model name (no alias, no default provider): the one provider whose
        configured ``models`` or upstream model list names it. The upstream lists come from the model
        catalog, waited for at most ``catalog_wait`` seconds (a refresh that takes longer goes on in
        the background, for the next request; meanwhile the config lists decide). Raises the
        router's ``NotFoundError`` when none, or several, list it."""
        assert self._catalog is not None
        task = asyncio.ensure_future(self._catalog.models())
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)
        try:
            listed = await asyncio.wait_for(asyncio.shield(task), self._options.catalog_wait)
        except TimeoutError:
            log.warning("models: the providers' model lists took over %g s; '%s' resolved without them",
                        self._options.catalog_wait, model)
            listed = []
        owners = [m.provider for m in listed if m.id == f"{m.provider}/{model}"]
        return [self.router.bare_route(model, owners)]

    async def _attempts(self, tracker: Tracker, model: str, op: Callable[[Route], Awaitable[T]]) -> T:
        """Run ``op`` against the model's deployments with retries and fallbacks (see ``resilience``);
        each failed attempt, and the request giving up, is logged (see ``upstream_log``)."""
        routes = self._cooldowns.order(await self._routes(model, tracker.info), key=lambda r: r.deployment)
        policy = self._options.retry
        error: GatewayError | None = None
        for position, route in enumerate(routes):
            tracker.bind(route.provider, route.upstream_model, route.credential.secrets())
            tracker.info.timing.provider = route.provider
            retry = 0
            while True:
                started = time.perf_counter()
                try:
                    _require_credentials(route)
                    result = await self._waited(tracker, op(route))
                except GatewayError as exc:
                    error = exc
                    self._attempt(tracker, route, started, exc)
                    delay = policy.delay(retry, exc)
                    following = routes[position + 1] if position + 1 < len(routes) and falls_back(exc) else None
                    upstream_log.attempt_failed(tracker, route, exc, retry, policy, delay, following)
                    if delay is None:
                        break
                    retry += 1
                    await tracker.info.timing.back_off(delay)
                    continue
                self._attempt(tracker, route, started, None)
                return result
            if not falls_back(error):
                break
        assert error is not None
        upstream_log.gave_up(tracker, error)
        raise error

    def _attempt(self, tracker: Tracker, route: Route, started: float, error: GatewayError | None) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        tracker.info.timing.attempts += 1
        if error is None:
            self._cooldowns.succeeded(route.deployment)
        elif error.source == "upstream":
            self._cooldowns.failed(route.deployment)
        tracker.attempts.append(Attempt(
            number=len(tracker.attempts) + 1, provider=route.provider, model=route.upstream_model,
            status="SUCCESS" if error is None else "FAILED", http_status=200 if error is None else error.status,
            time_taken_ms=elapsed, error_type=error.error_type if error else None,
            error_message=tracker.scrub(error.message) if error else None,
        ))

    def _chat_setup(self, call: ChatCall, route: Route, tracker: Tracker) -> tuple[LargeLanguageCaller,
                                                                                    ChatCompletionOptions]:
        spec = route.spec
        factory = _factory(spec, "chat completions", spec.llm)
        if call.stream and not spec.streaming:
            raise InvalidRequestError(f"Provider '{spec.name}' does not support streaming.", param="stream")
        if call.tools and not spec.tools:
            raise InvalidRequestError(f"Provider '{spec.name}' does not support tools.", param="tools")
        if route.alias:
            tracker.note({"alias": route.alias})
        params = self._parameters(route, call.parameters, spec.chat_parameters, tracker, call.extra)
        options = ChatCompletionOptions(self._request(tracker), params, tool_definitions=call.tools,
                                        extra_body=self._extra_body(route, call), **self._hooks(tracker, route))
        return self._bind(route, "llm", factory), options

    async def chat(self, call: ChatCall, model: str, info: CallInfo) -> ChatResult:
        """A whole completion; the record is written whatever happens."""
        tracker = self._tracker(info, model)

        async def op(route: Route) -> ChatResult:
            caller, options = self._chat_setup(call, route, tracker)
            return await caller.get_chat_completion(call.messages, options)

        result = await self._tracked(tracker, self._attempts(tracker, model, op))
        tracker.succeed_chat(result)
        return result

    def stream_chat(self, call: ChatCall, model: str, info: CallInfo) -> AsyncGenerator[StreamEvent, None]:
        """Events as the caller yields them. Retries and fallbacks happen only until the first
        event arrives. The consumer must ``aclose`` this iterator; closing it early records
        the request as ``CANCELLED``."""
        tracker = self._tracker(info, model, stream=True)

        def start(route: Route) -> AsyncGenerator[StreamEvent, None]:
            caller, options = self._chat_setup(call, route, tracker)
            return caller.stream_chat_completion(call.messages, options)

        return self._stream(tracker, model, start)

    def _text_setup(self, route: Route, tracker: Tracker) -> tuple[TextCompletionCaller, TextCompletionOptions]:
        factory = route.spec.text_completion
        assert factory is not None
        if route.alias:
            tracker.note({"alias": route.alias})
        params = ModelParameters(route.parameters).merged({p.NAME: route.upstream_model})
        options = TextCompletionOptions(self._request(tracker), params, **self._hooks(tracker, route))
        return self._bind(route, "text_completion", factory), options

    async def complete(self, call: TextCall, model: str, info: CallInfo) -> ChatResult:
        """A whole legacy completion: native where the provider has the call, else through chat
        (``gateway.service.completions``); the record is written whatever happens."""
        tracker = self._tracker(info, model)

        async def op(route: Route) -> ChatResult:
            if route.spec.text_completion is not None:
                caller, options = self._text_setup(route, tracker)
                return await caller.get_text_completion(call.body, options)
            chats = chats_for(call, route.provider, stream=False)
            setups = [self._chat_setup(chat, route, tracker) for chat in chats]
            results = await asyncio.gather(*(caller.get_chat_completion(chat.messages, options)
                                             for chat, (caller, options) in zip(chats, setups, strict=True)))
            return merged(results)

        result = await self._tracked(tracker, self._attempts(tracker, model, op))
        tracker.succeed(result.usage, result.model)
        return result

    def stream_complete(self, call: TextCall, model: str, info: CallInfo) -> AsyncGenerator[StreamEvent, None]:
        """A streamed legacy completion, as ``stream_chat`` streams (and closes) a chat."""
        tracker = self._tracker(info, model, stream=True)

        def start(route: Route) -> AsyncGenerator[StreamEvent, None]:
            if route.spec.text_completion is not None:
                caller, options = self._text_setup(route, tracker)
                return caller.stream_text_completion(call.body, options)
            chat = chats_for(call, route.provider, stream=True)[0]
            chat_caller, chat_options = self._chat_setup(chat, route, tracker)
            return chat_caller.stream_chat_completion(chat.messages, chat_options)

        return self._stream(tracker, model, start)

    async def _stream(self, tracker: Tracker, model: str, start: Callable[[Route], AsyncGenerator[E, None]],
                      ) -> AsyncGenerator[E, None]:
        """Relay the stream ``start`` opens on the first route that yields an event (see ``stream_chat``);
        it ends at a ``StreamEnd`` or, relayed in a provider's own format, a ``NativeEnd``."""
        opened: list[AsyncGenerator[E, None]] = []

        async def op(route: Route) -> E:
            stream = start(route)
            opened.append(stream)
            try:
                return await anext(stream)
            except BaseException:
                opened.remove(stream)
                await stream.aclose()
                raise

        relaying = False
        try:
            event = await self._attempts(tracker, model, op)
            relaying = True
            stream = opened[-1]
            timing = tracker.info.timing
            while True:
                if isinstance(event, StreamEnd | NativeEnd):
                    if isinstance(event, StreamEnd):
                        tracker.succeed_chat(event.result)
                    elif event.error is not None:
                        upstream_log.stream_failed(tracker, event.error)
                        tracker.fail(event.error)
                    else:
                        tracker.succeed(event.usage, event.model)
                    yield event
                    return
                tracker.mark_delta()
                yield event
                waited = time.perf_counter_ns()
                event = await anext(stream)
                timing.upstream_ns += time.perf_counter_ns() - waited
        except StopAsyncIteration:
            error = GatewayError("The provider's stream ended without a final event.", code="upstream_stream_error")
            if relaying:
                upstream_log.stream_failed(tracker, error)
            tracker.fail(error)
            raise error from None
        except GatewayError as exc:
            if relaying:
                upstream_log.stream_failed(tracker, exc)
            tracker.fail(exc)
            raise
        except Exception as exc:
            error = internal_error(exc)
            log.error("request %s: internal error", tracker.info.request_id, exc_info=exc)
            tracker.fail(error)
            raise error from exc
        finally:
            tracker.cancel()
            for stream in opened:
                await stream.aclose()

    def _native(self, route: Route, request: NativeRequest, tracker: Tracker,
                ) -> tuple[NativeCaller, AIOptions, NativeRequest] | None:
        """The relay, its options and the request as it goes to the route's provider, when that
        provider relays ``request.format`` for this deployment; else ``None`` (translate)."""
        factory = route.spec.natives.get(request.format)
        caller = self._bind(route, f"native:{request.format}", factory) if factory is not None else None
        if caller is None:
            return None
        if route.alias:
            tracker.note({"alias": route.alias})
        options = AIOptions(self._request(tracker), ModelParameters({p.NAME: route.upstream_model}),
                            **self._hooks(tracker, route))
        return caller, options, request.for_provider(route.provider)

    async def chat_or_native(self, translate: Callable[[], ChatCall], request: NativeRequest, model: str,
                             info: CallInfo) -> ChatResult | NativeReply:
        """Like ``chat``, for a front door speaking ``request.format``: a deployment whose provider
        speaks it gets the request relayed (a ``NativeReply``); any other gets ``translate()``, which
        raises what cannot be translated, and answers a ``ChatResult``."""
        tracker = self._tracker(info, model)

        async def op(route: Route) -> ChatResult | NativeReply:
            native = self._native(route, request, tracker)
            if native is not None:
                return await native[0].send(native[2], native[1])
            call = translate()
            caller, options = self._chat_setup(call, route, tracker)
            return await caller.get_chat_completion(call.messages, options)

        result = await self._tracked(tracker, self._attempts(tracker, model, op))
        if isinstance(result, ChatResult):
            tracker.succeed_chat(result)
        else:
            tracker.succeed(result.usage, result.model)
        return result

    def stream_chat_or_native(self, translate: Callable[[], ChatCall], request: NativeRequest, model: str,
                              info: CallInfo) -> AsyncGenerator[StreamEvent | NativeEvent, None]:
        """``stream_chat`` for a front door speaking ``request.format`` (see ``chat_or_native``): a
        relayed stream yields ``NativeFrame``s then one ``NativeEnd``, a translated one neutral events.
        Retries and fallbacks happen only until the first event; the consumer must ``aclose`` this."""
        tracker = self._tracker(info, model, stream=True)

        def start(route: Route) -> AsyncGenerator[StreamEvent | NativeEvent, None]:
            native = self._native(route, request, tracker)
            if native is not None:
                return native[0].stream(native[2], native[1])
            call = translate()
            caller, options = self._chat_setup(call, route, tracker)
            return caller.stream_chat_completion(call.messages, options)

        return self._stream(tracker, model, start)

    async def count_tokens(self, request: NativeRequest, prompt: Callable[[], ChatCall], model: str,
                           info: CallInfo) -> int:
        """The input tokens of ``request``: the provider's own count where the deployment's provider
        speaks ``request.format`` or has a ``token_counter`` (given ``prompt()``, which raises what
        cannot be translated), else the estimate of ``prompt()`` (``estimate.chat``), noted on the
        record as ``estimated``. The record counts no usage: counting is free."""
        tracker = self._tracker(info, model)

        async def op(route: Route) -> int:
            native = self._native(route, request, tracker)
            if native is not None:
                return await native[0].count_tokens(native[2], native[1])
            call = prompt()
            if route.spec.token_counter is None:
                tracker.note({"estimated": True})
                return estimate.chat(call, 0).input
            options = ChatCompletionOptions(self._request(tracker), ModelParameters({p.NAME: route.upstream_model}),
                                            tool_definitions=call.tools, **self._hooks(tracker, route))
            counter = self._bind(route, "token_counter", route.spec.token_counter)
            return await counter.count_tokens(call.messages, options)

        tokens = await self._tracked(tracker, self._attempts(tracker, model, op))
        tracker.note({"input_tokens_counted": tokens})
        tracker.succeed(Usage())
        return tokens

    async def native_resource(self, format: str, model: str, provider: str, method: str, path: str,
                              params: Mapping[str, str], info: CallInfo) -> NativeReply:
        """``method`` on a resource ``provider`` holds in ``format`` (a stored Response it created for
        ``model``): relayed with the credential of ``model``'s first deployment on that provider.
        A 404 when no deployment of ``model`` relays ``format`` on ``provider`` any more."""
        for route in self.router.chain(model):
            factory = route.spec.natives.get(format)
            if route.provider != provider or factory is None:
                continue
            _require_credentials(route)
            caller = self._bind(route, f"native:{format}", factory)
            if isinstance(caller, NativeResources):
                options = AIOptions(RequestContext(info.request_id), ModelParameters({p.NAME: route.upstream_model}))
                return await caller.resource(method, path, params, options)
        raise NotFoundError(f"The provider '{provider}' that holds this resource no longer serves '{model}'.")

    async def embed(self, inputs: Sequence[str], parameters: dict[str, Any], model: str,
                    info: CallInfo, tokens: TokenInput | None = None) -> EmbeddingResult:
        """Embed ``inputs``, or the token arrays ``tokens`` (then ``inputs`` is empty): only a provider
        speaking OpenAI's format takes those; the rest answer a 400 naming ``input``."""
        tracker = self._tracker(info, model)

        async def op(route: Route) -> EmbeddingResult:
            factory = _factory(route.spec, "embeddings", route.spec.embedding)
            if tokens is not None and not route.spec.openai_format:
                raise InvalidRequestError(f"Provider '{route.provider}' does not take token arrays as 'input'; "
                                          "send text.", param="input", code="unsupported_parameter")
            params = self._parameters(route, parameters, route.spec.embedding_parameters, tracker)
            options = EmbeddingOptions(self._request(tracker), params, token_input=tokens,
                                       **self._hooks(tracker, route))
            return await self._bind(route, "embedding", factory).get_embedding(inputs, options)

        result = await self._tracked(tracker, self._attempts(tracker, model, op))
        tracker.succeed(result.usage, result.model)
        return result

    async def rerank(self, query: str, documents: Sequence[str], parameters: dict[str, Any], model: str,
                     info: CallInfo) -> RerankResult:
        tracker = self._tracker(info, model)

        async def op(route: Route) -> RerankResult:
            factory = _factory(route.spec, "reranking", route.spec.reranking)
            params = self._parameters(route, parameters, route.spec.rerank_parameters, tracker)
            options = RerankerOptions(self._request(tracker), params, **self._hooks(tracker, route))
            return await self._bind(route, "reranking", factory).get_reranking(query, documents, options)

        result = await self._tracked(tracker, self._attempts(tracker, model, op))
        tracker.succeed(result.usage, result.model)
        return result

    async def verify(self, provider: str, credential: Credential, info: CallInfo) -> Verification:
        """Check ``credential`` (or, if empty, the configured one) with the provider's free call; a
        given credential is combined with the configured one only as ``credential_to_verify`` allows."""
        tracker = self._tracker(info, None)
        tracker.provider = info.timing.provider = provider

        async def run() -> Verification:
            spec = self.router.registry.get(provider)
            factory = _factory(spec, "credential verification", spec.verifier)
            effective = credential_to_verify(spec, credential, self.router.credential(provider))
            tracker.secrets = effective.secrets()
            missing = spec.missing_credentials(effective)
            if missing:
                raise InvalidRequestError(
                    f"Provider '{provider}' needs the credential key(s) {', '.join(missing)}.", param="credential")
            ctx = CallerContext(provider, self._http, effective, self.router.timeouts(provider))
            return await factory(ctx).verify_credential(CredentialVerifierOptions(self._request(tracker)))

        result = await self._tracked(tracker, run())
        tracker.note({"credential_valid": result.valid})
        tracker.succeed(Usage())
        return replace(result, detail=tracker.scrub(result.detail))

    def refused(self, info: CallInfo, http_status: int, error_type: str | None, message: str | None) -> None:
        """Leave the record of a request the API refused before calling the service (no provider tried)."""
        self._tracker(info, None).refuse(http_status, error_type, message)

    @staticmethod
    async def _waited(tracker: Tracker, work: Awaitable[T]) -> T:
        """Await ``work`` (a provider call), adding its duration to the request's upstream time."""
        started = time.perf_counter_ns()
        try:
            return await work
        finally:
            tracker.info.timing.upstream_ns += time.perf_counter_ns() - started

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
            log.error("request %s: internal error", tracker.info.request_id, exc_info=exc)
            tracker.fail(error)
            raise error from exc

