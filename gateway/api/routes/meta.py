"""Models, providers, credential checks and health."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, Request, Response
from starlette.responses import RedirectResponse

from gateway.api.deps import authorize, call_info, require_key, service
from gateway.api.responses import JSONResponse
from gateway.callers.base import Credential
from gateway.schemas.openai import VerifyCredentialRequest
from gateway.schemas.responses import (
    HealthResponse,
    ModelListResponse,
    ProviderListResponse,
    ReadinessResponse,
    VerifyCredentialResponse,
    ok,
)
from gateway.service.gateway import GatewayService

router = APIRouter()
protected = APIRouter(dependencies=[Depends(authorize)])
admin = APIRouter(dependencies=[Depends(require_key)])


@protected.get("/v1/models", responses=ok(ModelListResponse))
async def list_models(request: Request, svc: GatewayService = Depends(service)) -> JSONResponse:
    created = request.app.state.started_at
    data = [{"id": model, "object": "model", "created": created, "owned_by": owner}
            for model, owner in svc.router.public_models()]
    return JSONResponse({"object": "list", "data": data})


@protected.get("/v1/providers", responses=ok(ProviderListResponse))
async def list_providers(svc: GatewayService = Depends(service)) -> JSONResponse:
    data = [
        {
            "name": spec.name,
            "description": spec.description,
            "capabilities": spec.capabilities.as_dict(),
            "configured": spec.is_configured(svc.router.credential(spec.name)),
            "credential_keys": list(spec.credential_env),
            "environment": sorted(spec.credential_env.values()),
        }
        for spec in svc.router.registry
    ]
    return JSONResponse({"object": "list", "data": data})


@admin.post("/v1/credentials/verify", responses=ok(VerifyCredentialResponse))
async def verify_credential(body: VerifyCredentialRequest, request: Request,
                            svc: GatewayService = Depends(service)) -> JSONResponse:
    info = call_info(request, "credentials.verify")
    result = await svc.verify(body.provider, Credential(body.credential), info)
    return JSONResponse({"provider": body.provider, "valid": result.valid, "message": result.detail})


@admin.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus text exposition (behind the master key when authentication is on)."""
    body = request.app.state.metrics.exposition()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/", include_in_schema=False)
async def root(request: Request) -> RedirectResponse:
    """A browser pointed at the base URL lands on the dashboard."""
    return RedirectResponse(request.scope.get("root_path", "") + "/dashboard", status_code=307)


@router.get("/healthz", responses=ok(HealthResponse))
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", responses={**ok(ReadinessResponse), **ok(ReadinessResponse, 503)})
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers; 503 ``degraded`` when it does not (requests are still
    served and records wait in the writer's buffer). The rate limiter's store is reported too."""
    started = time.perf_counter()
    database = await asyncio.to_thread(request.app.state.db_ping)
    limiter = await request.app.state.limiter.healthy()
    body = {"status": "ready" if database else "degraded", "database": "ok" if database else "unreachable",
            "rate_limiter": "ok" if limiter else "unreachable",
            "records_buffered": request.app.state.writer.stats.queue_depth,
            "checked_in_ms": round((time.perf_counter() - started) * 1000, 2)}
    return JSONResponse(body, status_code=200 if database else 503)
