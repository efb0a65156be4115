"""Models, providers, credential checks and health."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.responses import RedirectResponse

from gateway.api.deps import authorize, call_info, require_key, service
from gateway.api.parsed import GatewayRoute
from gateway.api.responses import JSONResponse
from gateway.callers.base import Credential
from gateway.errors import NotFoundError
from gateway.schemas.openai import VerifyCredentialRequest
from gateway.schemas.responses import (
    HealthResponse,
    ModelListResponse,
    ModelOut,
    ProviderListResponse,
    ReadinessResponse,
    VerifyCredentialResponse,
    ok,
)
from gateway.service.gateway import GatewayService
from gateway.service.keys import Principal
from gateway.service.model_list import ModelCatalog

router = APIRouter(route_class=GatewayRoute)
protected = APIRouter(route_class=GatewayRoute, dependencies=[Depends(authorize)])
admin = APIRouter(route_class=GatewayRoute, dependencies=[Depends(require_key)])


async def _visible_models(request: Request, svc: GatewayService) -> list[dict[str, Any]]:
    """The models the caller may use, as OpenAI model objects: aliases and config-listed models,
    then each configured provider's upstream list as ``provider/model``; a key with a model
    allow-list sees only those."""
    created = request.app.state.started_at
    models = {model: {"id": model, "object": "model", "created": created, "owned_by": owner}
              for model, owner in svc.router.public_models()}
    catalog: ModelCatalog = request.app.state.models
    for listed in await catalog.models():
        models.setdefault(listed.id, {"id": listed.id, "object": "model", "created": listed.created or created,
                                      "owned_by": listed.provider})
    principal: Principal = request.state.principal
    allowed = principal.key.models if principal.key is not None else None
    return [model for name, model in models.items() if allowed is None or name in allowed]


@protected.get("/v1/models", responses=ok(ModelListResponse))
async def list_models(request: Request, svc: GatewayService = Depends(service)) -> JSONResponse:
    return JSONResponse({"object": "list", "data": await _visible_models(request, svc)})


@protected.get("/v1/models/{model_id:path}", responses=ok(ModelOut))
async def retrieve_model(model_id: str, request: Request, svc: GatewayService = Depends(service)) -> JSONResponse:
    """One model of the listing (``provider/model`` ids keep their slash); 404 for any other id."""
    for model in await _visible_models(request, svc):
        if model["id"] == model_id:
            return JSONResponse(model)
    raise NotFoundError(f"The model '{model_id}' does not exist.", param="model", code="model_not_found")


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
