"""``GET /v1/activity`` (newest first, filtered, keyset-paginated) and one record by id.

Parameters are bounded as ``gateway.api.params`` says: a filter that no record could match
(a control character, longer than its column) or a cursor beyond 64 bits is a 400 naming
it; a ``request_id`` that no request could have had is a 404, like an unknown one.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, Depends, Query, Request

from gateway.api.deps import require_key
from gateway.api.params import BIGINT_MAX, REQUEST_ID, Moment, path_id, text_filter
from gateway.api.parsed import GatewayRoute
from gateway.api.responses import JSONResponse
from gateway.errors import NotFoundError
from gateway.schemas.responses import ActivityPageResponse, ok
from gateway.store.repository import ActivityFilters, ActivityRepository

router = APIRouter(route_class=GatewayRoute, dependencies=[Depends(require_key)])

_REQUEST_ID = re.compile(REQUEST_ID)


def _repository(request: Request) -> ActivityRepository:
    repo: ActivityRepository = request.app.state.activity
    return repo


@router.get("/v1/activity", responses=ok(ActivityPageResponse))
async def list_activity(
    request: Request,
    provider: str | None = text_filter(64, "provider that answered"),
    model: str | None = text_filter(256, "model as requested or as answered"),
    status: str | None = Query(default=None, pattern="^(SUCCESS|FAILED|CANCELLED)$"),
    key_id: str | None = text_filter(64, "gateway key id"),
    since: Moment | None = Query(default=None, description="inclusive; naive is UTC"),
    until: Moment | None = Query(default=None, description="exclusive; naive is UTC"),
    limit: int = Query(default=50, ge=1, le=500),
    cursor: int | None = Query(default=None, ge=0, le=BIGINT_MAX, description="next_cursor of the previous page"),
) -> JSONResponse:
    filters = ActivityFilters(provider=provider, model=model, status=status, key_id=key_id, since=since, until=until)
    page = await asyncio.to_thread(_repository(request).list_records, filters, limit, cursor)
    cursor_out = str(page.next_cursor) if page.next_cursor is not None else None
    return JSONResponse({"object": "list", "data": page.items, "next_cursor": cursor_out,
                         "has_more": cursor_out is not None})


@router.get("/v1/activity/{request_id}")
async def get_activity(
    request: Request,
    request_id: str = path_id(REQUEST_ID, 128, "the request's x-request-id, or the record's numeric id; "
                              "any other value is a 404"),
) -> JSONResponse:
    record = await asyncio.to_thread(_repository(request).get_record, request_id) \
        if _REQUEST_ID.fullmatch(request_id) else None
    if record is None:
        raise NotFoundError(f"No activity record for request '{request_id[:128]}'.", param="request_id",
                            code="record_not_found")
    return JSONResponse(record)
