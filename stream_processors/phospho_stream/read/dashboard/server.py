"""The dashboard's routes on the read app: the JSON API under /api/, the page, its files.

Every statement runs through the locked read path with bound parameters; the page loads
nothing but its own files (the Content-Security-Policy, set by read/access.py, says so)."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from phospho_sinks import StoreError

from ..endpoint import json_response
from ..reader import Reader
from .api import ROUTES, BadRequest, NotFound, with_tuning

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


def dashboard_routes(read: Reader) -> list[BaseRoute]:
    tuned = with_tuning(read)

    async def page(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def api(request: Request) -> Response:
        name = request.path_params["name"]
        route = ROUTES.get(name)
        if route is None:
            return json_response({"error": f"no API {name!r}"}, 404, {"Cache-Control": "no-store"})
        args = {k: request.query_params.getlist(k)[0] for k in request.query_params}
        started = time.perf_counter()
        try:
            status, payload = 200, _finite(await run_in_threadpool(route, tuned, args))
        except BadRequest as exc:
            status, payload = 400, {"error": str(exc)}
        except NotFound as exc:
            status, payload = 404, {"error": str(exc)}
        except StoreError as exc:
            status, payload = 502, {"error": f"the store failed: {exc}"}
        except Exception as exc:  # anything else still answers, in JSON, and is logged
            log.exception("dashboard: GET %s failed", request.url.path)
            status, payload = 500, {"error": f"the dashboard failed: {type(exc).__name__}: {exc}"}
        timing = f"db;dur={(time.perf_counter() - started) * 1000:.1f}"
        return json_response(payload, status, {"Cache-Control": "no-store", "Server-Timing": timing})

    return [
        Route("/", page, methods=["GET"]),
        Route("/index.html", page, methods=["GET"]),
        Route("/api/{name:path}", api, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
