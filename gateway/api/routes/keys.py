"""Gateway key management over HTTP (master key only): create, list, revoke.

Without a configured master key (unauthenticated mode) ``GET`` and ``DELETE`` still
work, so old keys can be cleaned up, but ``POST`` is a 409 ``master_key_required``:
a key would turn authentication on with nothing left that reaches these routes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

from gateway.api.deps import require_key
from gateway.api.params import path_id
from gateway.api.parsed import GatewayRoute
from gateway.api.responses import JSONResponse
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.schemas.responses import CreatedKeyResponse, KeyListResponse, KeyRevokedResponse, ok
from gateway.store.keys import KeyStore

router = APIRouter(route_class=GatewayRoute, dependencies=[Depends(require_key)])


KEY_ID = r"^key_[0-9a-f]{12}$"
_KEY_ID = re.compile(KEY_ID)
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
_INT32 = 2**31 - 1
Limit = Annotated[StrictInt, Field(ge=1, le=_INT32)]


class CreateKeyRequest(BaseModel):
    """Limits are JSON integers (``"10"`` and ``true`` are refused) within the stored 32-bit range;
    ``expires_at`` must be in the future (a naive time is UTC)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=_PRINTABLE)
    models: list[Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=_PRINTABLE)]] | None = \
        Field(default=None, min_length=1, max_length=1000,
              description="The model names the key may use; omit (or null) for every model. An empty list is refused.")
    rpm: Limit | None = None
    tpm: Limit | None = None
    expires_at: dt.datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        if when <= dt.datetime.now(dt.UTC):
            raise ValueError("must be in the future")
        return when


def _store(request: Request) -> KeyStore:
    store: KeyStore = request.app.state.key_store
    return store


async def _master_key_configured(request: Request) -> None:
    if request.app.state.master_key is None:
        raise InvalidRequestError(
            "Creating a gateway key needs a master key: a key turns authentication on, and only the master key "
            "reaches the admin routes and the dashboard. Set GATEWAY_MASTER_KEY (e.g. in .env), restart the "
            "gateway, then create keys with it.", code="master_key_required", status_code=409)


@router.post("/v1/keys", status_code=201, responses=ok(CreatedKeyResponse, 201),
             dependencies=[Depends(_master_key_configured)])
async def create_key(body: CreateKeyRequest, request: Request) -> JSONResponse:
    """The clear key is in this response only; it is stored hashed. 409 without a configured master key."""
    clear, key = await asyncio.to_thread(_store(request).create, body.name, models=body.models, rpm=body.rpm,
                                         tpm=body.tpm, expires_at=body.expires_at)
    await request.app.state.keyring.refresh()
    return JSONResponse({**key.public(), "key": clear}, status_code=201)


@router.get("/v1/keys", responses=ok(KeyListResponse))
async def list_keys(request: Request) -> JSONResponse:
    keys = await asyncio.to_thread(_store(request).all)
    return JSONResponse({"object": "list", "data": [k.public() for k in keys]})


@router.delete("/v1/keys/{key_id}", responses=ok(KeyRevokedResponse))
async def revoke_key(request: Request,
                     key_id: str = path_id(KEY_ID, 16, "the key's id; any other value is a 404")) -> JSONResponse:
    if not _KEY_ID.fullmatch(key_id) or not await asyncio.to_thread(_store(request).revoke, key_id):
        raise NotFoundError(f"No API key '{key_id}'.", param="key_id", code="key_not_found")
    await request.app.state.keyring.refresh()
    return JSONResponse({"id": key_id, "revoked": True})
