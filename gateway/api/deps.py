"""FastAPI dependencies: the service, who is calling, and the call info."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from gateway.service.gateway import GatewayService
from gateway.service.keys import KeyRing, Principal, require_admin
from gateway.service.limits import Limiter, enforce
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


def presented_key(request: Request) -> str | None:
    """The key a client presented: ``Authorization: Bearer``, ``api-key`` or ``x-api-key``."""
    auth = request.headers.get("authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("api-key") or request.headers.get("x-api-key")


async def authorize(request: Request) -> Principal:
    """Authenticate the caller and apply its key's request and token limits."""
    keyring: KeyRing = request.app.state.keyring
    principal = await keyring.authenticate(presented_key(request))
    request.state.principal = principal
    key = principal.key
    if key is not None and (key.rpm or key.tpm):
        limiter: Limiter = request.app.state.limiter
        await enforce(limiter, key.id, key.rpm, key.tpm)
    return principal


async def require_key(request: Request) -> Principal:
    """Authenticate the caller and require the master key (admin endpoints)."""
    keyring: KeyRing = request.app.state.keyring
    principal = await keyring.authenticate(presented_key(request))
    require_admin(principal)
    request.state.principal = principal
    return principal


def _count_tokens(request: Request, principal: Principal) -> Any:
    key = principal.key
    if key is None or not key.tpm:
        return None
    limiter: Limiter = request.app.state.limiter
    pending: set[asyncio.Task[Any]] = request.app.state.background_tasks

    def on_record(record: RequestRecord) -> None:
        if record.total_tokens:
            task = asyncio.get_running_loop().create_task(limiter.admit(f"{key.id}:tpm", key.tpm or 0,
                                                                        -record.total_tokens))
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
    return CallInfo(request_id=request.state.request_id, endpoint=endpoint, started_ns=request.state.started_ns,
                    metadata=metadata, key_id=key.id if key else None,
                    allowed_models=key.models if key else None,
                    on_record=_count_tokens(request, principal) if principal else None,
                    timing=request.state.timing)
