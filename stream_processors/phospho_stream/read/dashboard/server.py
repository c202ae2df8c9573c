"""The dashboard's routes on the read app: the JSON API under /api/, CSV exports under
/api/export/, the page, its files.

Every statement runs through the locked read path with bound parameters; the page loads
nothing but its own files (the Content-Security-Policy, set by read/access.py, says so)."""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from phospho_sinks import StoreError

from ..endpoint import json_response
from ..query import render
from ..reader import Reader
from .api import EXPORT_LIMIT, EXPORTS, ROUTES, BadRequest, NotFound, with_tuning

__all__ = ["STATIC_DIR", "dashboard_routes"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
log = logging.getLogger("phospho_stream.dashboard")


def _finite(payload: object) -> object:
    """NaN and infinities are not JSON: null (the API's functions clean their values; this is
    the last guard)."""
    if isinstance(payload, float) and not math.isfinite(payload):
        return None
    if isinstance(payload, dict):
        return {k: _finite(v) for k, v in payload.items()}
    if isinstance(payload, list):
        return [_finite(v) for v in payload]
    return payload


async def _answer(request: Request, run: Callable[[], Awaitable[Any]]) -> tuple[int, Any]:
    """(status, payload): the route's result, or its error as {"error": ...} with its status."""
    try:
        return 200, await run()
    except BadRequest as exc:
        return 400, {"error": str(exc)}
    except NotFound as exc:
        return 404, {"error": str(exc)}
    except StoreError as exc:
        return 502, {"error": f"the store failed: {exc}"}
    except Exception as exc:  # anything else still answers, in JSON, and is logged
        log.exception("dashboard: GET %s failed", request.url.path)
        return 500, {"error": f"the dashboard failed: {type(exc).__name__}: {exc}"}


def _args(request: Request) -> dict[str, str]:
    return {k: request.query_params.getlist(k)[0] for k in request.query_params}


def dashboard_routes(read: Reader) -> list[BaseRoute]:
    tuned = with_tuning(read)

    async def page(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def api(request: Request) -> Response:
        name = request.path_params["name"]
        route = ROUTES.get(name)
        if route is None:
            return json_response({"error": f"no API {name!r}"}, 404, {"Cache-Control": "no-store"})
        started = time.perf_counter()
        status, payload = await _answer(request, lambda: run_in_threadpool(route, tuned, _args(request)))
        timing = f"db;dur={(time.perf_counter() - started) * 1000:.1f}"
        return json_response(_finite(payload), status, {"Cache-Control": "no-store", "Server-Timing": timing})

    async def export(request: Request) -> Response:
        """A list's rows as CSV (LF line ends, a header row), for download."""
        name = request.path_params["name"]
        route = EXPORTS.get(name)
        if route is None:
            return json_response({"error": f"no export {name!r}"}, 404, {"Cache-Control": "no-store"})
        status, payload = await _answer(request, lambda: run_in_threadpool(route, tuned, _args(request)))
        if status != 200:
            return json_response(payload, status, {"Cache-Control": "no-store"})
        what, result = payload
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        body = render(result, "csv") + "\n"
        return Response(body, 200, media_type="text/csv; charset=utf-8", headers={
            "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="phospho-{what}-{stamp}.csv"',
            "X-Rows": str(len(result.rows)), "X-Rows-Limit": str(EXPORT_LIMIT)})

    return [
        Route("/", page, methods=["GET"]),
        Route("/index.html", page, methods=["GET"]),
        Route("/api/export/{name}", export, methods=["GET"]),
        Route("/api/{name:path}", api, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
