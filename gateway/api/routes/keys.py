"""Gateway key management over HTTP (master key only): create, list, revoke."""

from __future__ import annotations

import asyncio
import datetime as dt

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import require_key
from gateway.api.responses import JSONResponse
from gateway.errors import NotFoundError
from gateway.schemas.responses import CreatedKeyResponse, KeyListResponse, KeyRevokedResponse, ok
from gateway.store.keys import KeyStore

router = APIRouter(dependencies=[Depends(require_key)])


class CreateKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    models: list[str] | None = None
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    expires_at: dt.datetime | None = None


def _store(request: Request) -> KeyStore:
    store: KeyStore = request.app.state.key_store
    return store


@router.post("/v1/keys", status_code=201, responses=ok(CreatedKeyResponse, 201))
async def create_key(body: CreateKeyRequest, request: Request) -> JSONResponse:
    """The clear key is in this response only; it is stored hashed."""
    clear, key = await asyncio.to_thread(_store(request).create, body.name, models=body.models, rpm=body.rpm,
                                         tpm=body.tpm, expires_at=body.expires_at)
    await request.app.state.keyring.refresh()
    return JSONResponse({**key.public(), "key": clear}, status_code=201)


@router.get("/v1/keys", responses=ok(KeyListResponse))
async def list_keys(request: Request) -> JSONResponse:
    keys = await asyncio.to_thread(_store(request).all)
    return JSONResponse({"object": "list", "data": [k.public() for k in keys]})


@router.delete("/v1/keys/{key_id}", responses=ok(KeyRevokedResponse))
async def revoke_key(key_id: str, request: Request) -> JSONResponse:
    if not await asyncio.to_thread(_store(request).revoke, key_id):
        raise NotFoundError(f"No API key '{key_id}'.", param="key_id", code="key_not_found")
    await request.app.state.keyring.refresh()
    return JSONResponse({"id": key_id, "revoked": True})
