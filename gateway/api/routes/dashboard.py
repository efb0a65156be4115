"""The activity dashboard: its page, its static assets and ``GET /v1/activity/stats``.

The page and its assets are served without authentication; they hold no data. Every
datum the page shows comes from ``/v1/activity*`` calls, which require the master key
(when one is set) like the rest of ``/v1``. The statistics come from ``app.state.stats``, on the
application's one engine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import FileResponse

from gateway.api.deps import require_key
from gateway.api.params import Moment
from gateway.api.parsed import GatewayRoute
from gateway.api.responses import JSONResponse
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.store.models import as_utc, window_start
from gateway.store.stats import StatsRepository, StatsWindow

ASSETS_DIR = Path(__file__).resolve().parents[2] / "dashboard"
_ASSET_TYPES = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
_PAGE_HEADERS = {
    "cache-control": "no-cache",
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
MAX_BUCKETS = 2000
_NICE_BUCKETS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
_AUTO_TARGET_BUCKETS = 120


router = APIRouter(route_class=GatewayRoute)


@router.get("/dashboard", include_in_schema=False)
async def dashboard_page() -> FileResponse:
    """The single-page dashboard (no data inside; see the module docstring)."""
    return FileResponse(ASSETS_DIR / "index.html", media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


@router.get("/dashboard/static/{name}", include_in_schema=False)
async def dashboard_asset(name: str) -> FileResponse:
    """One of the page's fixed assets; any other name is a 404."""
    media_type = _ASSET_TYPES.get(name)
    if media_type is None:
        raise NotFoundError(f"No dashboard asset '{name}'.", code="not_found")
    return FileResponse(ASSETS_DIR / name, media_type=media_type, headers=_PAGE_HEADERS)


@router.get("/v1/activity/stats", dependencies=[Depends(require_key)])
async def activity_stats(
    request: Request,
    since: Moment | None = Query(default=None, description="window start, inclusive (default: until - 1 h)"),
    until: Moment | None = Query(default=None, description="window end, exclusive (default: now)"),
    bucket_seconds: int | None = Query(default=None, ge=1, le=86400,
                                       description="bucket width (default: about 120 buckets)"),
) -> JSONResponse:
    """Charts data over ``[since, until)``; naive datetimes are UTC. Response::

        {"object": "activity.stats", "since": iso, "until": iso, "bucket_seconds": int,
         "buckets": [{"start": iso, "requests": int, "errors": int,
                      "p50_ms", "p95_ms", "p99_ms",                    # time taken
                      "ttft_p50_ms", "ttft_p95_ms", "ttft_p99_ms"}],  # time to first token
         "by_model": [{"model", "provider", "requests": int, "input_tokens": int,
                       "output_tokens": int, "cost": "decimal string" | null}],
         "rows": int, "capped": bool, "note": str (only when capped)}

    ``buckets`` covers the window oldest first, empty buckets included; errors are
    requests with status ``FAILED``; percentiles are nearest-rank in milliseconds, or
    ``null`` for a bucket without values; ``cost`` (USD) sums the records' ``COST`` metrics
    (``null`` when none of them was priced). ``by_model`` is sorted by requests, most first. 400 when
    ``since >= until`` or the window needs more than 2000 buckets."""
    end = as_utc(until) if until else dt.datetime.now(dt.UTC)
    start = as_utc(since) if since else window_start(end, dt.timedelta(hours=1))
    if start >= end:
        raise InvalidRequestError("'since' must be earlier than 'until'.", param="since", code="invalid_window")
    step = bucket_seconds or auto_bucket_seconds(end - start)
    if (end - start).total_seconds() / step > MAX_BUCKETS:
        raise InvalidRequestError(f"The window needs more than {MAX_BUCKETS} buckets; raise 'bucket_seconds'.",
                                  param="bucket_seconds", code="too_many_buckets")
    window = StatsWindow(since=start, until=end, bucket_seconds=step)
    stats: StatsRepository = request.app.state.stats
    body = await asyncio.to_thread(stats.activity_stats, window)
    return JSONResponse({"object": "activity.stats", "since": start.isoformat(), "until": end.isoformat(),
                         "bucket_seconds": step, **body})


def auto_bucket_seconds(span: dt.timedelta) -> int:
    """The smallest round bucket width giving at most about 120 buckets over ``span``."""
    seconds = span.total_seconds()
    for step in _NICE_BUCKETS:
        if seconds / step <= _AUTO_TARGET_BUCKETS:
            return step
    return _NICE_BUCKETS[-1]
