"""FastAPI dependencies: the service, the caller's identity, the call info."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Request

from gateway.errors import AuthenticationError
from gateway.service.gateway import GatewayService
from gateway.service.tracking import CallInfo

_CLIENT_HEADERS = {
    "x-client-source": "source",
    "x-gateway-environment": "env",
    "x-gateway-region": "region",
    "user-agent": "user_agent",
}


def service(request: Request) -> GatewayService:
    svc: GatewayService = request.app.state.service
    return svc


def presented_key(request: Request) -> str | None:
    """The key a client presented: ``Authorization: Bearer``, ``api-key`` or ``x-api-key``."""
    auth = request.headers.get("authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("api-key") or request.headers.get("x-api-key")


def require_key(request: Request) -> None:
    """With ``GATEWAY_MASTER_KEY`` set, the request must present it."""
    master: str | None = request.app.state.master_key
    if master is None:
        return
    key = presented_key(request)
    if key is None or not hmac.compare_digest(key.encode(), master.encode()):
        raise AuthenticationError(
            "Incorrect or missing API key. Send 'Authorization: Bearer <gateway key>'.", code="invalid_api_key"
        )


def call_info(request: Request, endpoint: str, body_metadata: dict[str, Any] | None = None) -> CallInfo:
    metadata: dict[str, Any] = {}
    for header, key in _CLIENT_HEADERS.items():
        value = request.headers.get(header)
        if value:
            metadata[key] = value[:256]
    if body_metadata:
        metadata.update({f"metadata.{k}": v for k, v in body_metadata.items()})
    return CallInfo(request_id=request.state.request_id, endpoint=endpoint,
                    started_ns=request.state.started_ns, metadata=metadata)
