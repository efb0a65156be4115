"""``GET /v1/usage``: requests, tokens and cost over a window, grouped (master key only)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import WithJsonSchema

from gateway.api.deps import require_key
from gateway.api.params import Moment, choices_pattern
from gateway.api.parsed import GatewayRoute
from gateway.api.responses import JSONResponse
from gateway.errors import InvalidRequestError
from gateway.store.models import as_utc, window_start
from gateway.store.usage import GROUP_FIELDS, UsageRepository, parse_group_by

router = APIRouter(route_class=GatewayRoute, dependencies=[Depends(require_key)])

DEFAULT_WINDOW = dt.timedelta(days=30)
MAX_GROUP_BY_VALUES = 16
GroupBy = Annotated[str, WithJsonSchema({"type": "string", "maxLength": 64, "pattern": choices_pattern(GROUP_FIELDS)})]
"""Documented as the pattern ``parse_group_by`` accepts; it enforces it, naming an unknown field."""


@router.get("/v1/usage")
async def usage(
    request: Request,
    since: Moment | None = Query(default=None, description="inclusive; default: 30 days before until"),
    until: Moment | None = Query(default=None, description="exclusive; default: now"),
    group_by: list[GroupBy] | None = Query(default=None, max_length=MAX_GROUP_BY_VALUES,
                                           description="day, model, provider, key (comma-separated or "
                                           "repeated); default: all four"),
) -> JSONResponse:
    end = as_utc(until) if until is not None else dt.datetime.now(dt.UTC)
    start = as_utc(since) if since is not None else window_start(end, DEFAULT_WINDOW)
    if start >= end:
        raise InvalidRequestError("'since' must be earlier than 'until'.", param="since")
    try:
        fields = parse_group_by(group_by or ())
    except ValueError as exc:
        raise InvalidRequestError(f"{exc}.", param="group_by") from None
    repository: UsageRepository = request.app.state.usage
    report = await asyncio.to_thread(repository.summarize, start, end, fields)
    return JSONResponse({
        "object": "usage",
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "group_by": list(report.group_by),
        "data": [group.as_dict() for group in report.groups],
        "total": report.total.as_dict(),
    })
