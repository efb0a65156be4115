"""FastAPI dependencies: the service, who is calling, the token reservation, and the call info.

Who is calling is decided once per request, by ``AuthMiddleware`` before the body is read; the
dependencies here read its ``Admission`` from the request's state (and make it themselves only
in an application built without that middleware).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Request

from gateway.api.auth_middleware import ADMISSION, Admission, admit
from gateway.core.metrics import STATUS_SUCCESS
from gateway.core.requests import ChatCall
from gateway.errors import RateLimitError
from gateway.service import estimate
from gateway.service.estimate import TokenEstimate
from gateway.service.gateway import GatewayService
from gateway.service.keys import Principal, require_admin
from gateway.service.limits import Grant, Limiter, reserve_tokens
from gateway.service.tracking import CallInfo
from gateway.store.records import RequestRecord

_CLIENT_HEADERS = {
    "x-client-source": "source",
    "x-gateway-environment": "env",
    "x-gateway-region": "region",
    "user-agent": "user_agent",
}


async def service(request: Request) -> GatewayService:
    """Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool."""
    svc: GatewayService = request.app.state.service
    return svc


async def _admission(request: Request) -> Admission:
    admission: Admission | None = getattr(request.state, ADMISSION, None)
    if admission is None:
        admission = await admit(request.app.state.keyring, request.app.state.limiter, request.headers)
        setattr(request.state, ADMISSION, admission)
    request.state.principal = admission.principal
    return admission


async def authorize(request: Request) -> Principal:
    """The authenticated caller, its key's per-request limits applied (``request.state.principal``)."""
    return (await _admission(request)).principal


async def require_key(request: Request) -> Principal:
    """The authenticated caller, required to hold the master key (admin endpoints; 403 otherwise)."""
    principal = (await _admission(request)).principal
    require_admin(principal)
    return principal


async def reserve_chat(request: Request, call: ChatCall) -> None:
    """``reserve`` the estimate of a chat request (output: its limit, else the configured default)."""
    await reserve(request, estimate.chat(call, request.app.state.settings.tpm_default_output_tokens))


async def reserve_texts(request: Request, texts: Iterable[str]) -> None:
    """``reserve`` the estimate of an embedding or rerank request."""
    await reserve(request, estimate.texts(texts))


async def reserve(request: Request, tokens: TokenEstimate) -> None:
    """Keep ``tokens`` for the request's record and, for a key with a TPM limit, reserve their
    total (``reserve_tokens``: a 429 when they do not fit the window, and then the request is not
    counted against RPM either). The record settles the reservation (see ``call_info``)."""
    request.state.estimate = tokens
    admission = await _admission(request)
    key = admission.principal.key
    if key is None or not key.tpm:
        return
    limiter: Limiter = request.app.state.limiter
    try:
        request.state.token_grant = await reserve_tokens(limiter, key.id, key.tpm, tokens.total)
    except RateLimitError:
        if admission.request_grant is not None:
            await limiter.settle(admission.request_grant, 0)
        raise


def counted_tokens(record: RequestRecord, grant: Grant) -> int:
    """The tokens a record settles its reservation to: its total (the provider's usage, or the
    estimates a request that ended early counts); unknown after a success, the reservation stands;
    unknown after a failure or cancellation before the provider read the prompt, nothing."""
    if record.total_tokens is not None:
        return record.total_tokens
    return grant.cost if record.status == STATUS_SUCCESS else 0


def _settle(request: Request, grant: Grant) -> Callable[[RequestRecord], None]:
    limiter: Limiter = request.app.state.limiter
    pending: set[asyncio.Task[Any]] = request.app.state.background_tasks

    def on_record(record: RequestRecord) -> None:
        task = asyncio.get_running_loop().create_task(limiter.settle(grant, counted_tokens(record, grant)))
        pending.add(task)
        task.add_done_callback(pending.discard)

    return on_record


def call_info(request: Request, endpoint: str, body_metadata: dict[str, Any] | None = None) -> CallInfo:
    metadata: dict[str, Any] = {}
    for header, name in _CLIENT_HEADERS.items():
        value = request.headers.get(header)
        if value:
            metadata[name] = value[:256]
    if body_metadata:
        metadata.update({f"metadata.{k}": v for k, v in body_metadata.items()})
    principal: Principal | None = getattr(request.state, "principal", None)
    key = principal.key if principal is not None else None
    grant: Grant | None = getattr(request.state, "token_grant", None)
    tokens: TokenEstimate | None = getattr(request.state, "estimate", None)
    return CallInfo(request_id=request.state.request_id, endpoint=endpoint, started_ns=request.state.started_ns,
                    metadata=metadata, key_id=key.id if key else None,
                    allowed_models=key.models if key else None,
                    on_record=_settle(request, grant) if grant is not None else None,
                    timing=request.state.timing, input_estimate=tokens.input if tokens is not None else None)
