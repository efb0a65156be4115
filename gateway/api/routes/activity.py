"""``GET /v1/activity`` (newest first, filtered, keyset-paginated) and one record by id."""

from __future__ import annotations

import asyncio
import datetime as dt

from fastapi import APIRouter, Depends, Query, Request

from gateway.api.deps import require_key
from gateway.api.responses import JSONResponse
from gateway.errors import NotFoundError
from gateway.schemas.responses import ActivityPageResponse, ok
from gateway.store.repository import ActivityFilters, ActivityRepository

router = APIRouter(dependencies=[Depends(require_key)])


def _repository(request: Request) -> ActivityRepository:
    repo: ActivityRepository = request.app.state.activity
    return repo


@router.get("/v1/activity", responses=ok(ActivityPageResponse))
async def list_activity(
    request: Request,
    provider: str | None = None,
    model: str | None = None,
    status: str | None = Query(default=None, pattern="^(SUCCESS|FAILED|CANCELLED)$"),
    key_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    cursor: int | None = Query(default=None, ge=0, description="next_cursor of the previous page"),
) -> JSONResponse:
    filters = ActivityFilters(provider=provider, model=model, status=status, key_id=key_id, since=since, until=until)
    page = await asyncio.to_thread(_repository(request).list_records, filters, limit, cursor)
    cursor_out = str(page.next_cursor) if page.next_cursor is not None else None
    return JSONResponse({"object": "list", "data": page.items, "next_cursor": cursor_out,
                         "has_more": cursor_out is not None})


@router.get("/v1/activity/{request_id}")
async def get_activity(request_id: str, request: Request) -> JSONResponse:
    record = await asyncio.to_thread(_repository(request).get_record, request_id)
    if record is None:
        raise NotFoundError(f"No activity record for request '{request_id}'.", param="request_id",
                            code="record_not_found")
    return JSONResponse(record)
