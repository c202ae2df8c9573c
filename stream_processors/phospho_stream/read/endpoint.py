"""A running `up`'s query endpoint: its up.json, the server half and the client half.

up.json is how read commands find it; the server half is `POST /api/query` on the read app;
the client half asks it with httpx and the token of up.json.

up.json lives in the data directory, mode 0600: it holds the token that opens the endpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from phospho_sinks import QueryResult, ReadOnlyError, Settings, StoreError, chdb_path

from .reader import Reader

__all__ = ["UP_FILE", "RunningUp", "write_up_file", "remove_up_file", "find_running_up", "EndpointClient",
           "query_route", "json_response"]

UP_FILE = "up.json"


@dataclass(frozen=True)
class RunningUp:
    """What up.json says of a running `up`."""

    pid: int
    url: str  # the read app, e.g. http://127.0.0.1:8765/ (dashboard and query endpoint)
    token: str
    dsn: str
    bootstrap: str | None = None  # the pipeline's Kafka
    otlp: str | None = None  # the OTLP/HTTP receiver's base URL, when it runs
    data_dir: str | None = None
    topic_prefix: str | None = None  # the pipeline's topics (its control topic among them)

    @property
    def query_url(self) -> str:
        return self.url + "api/query"


def write_up_file(data_dir: Path, fields: Mapping[str, Any]) -> Path:
    """up.json, written whole (a reader never sees half of it) with mode 0600."""
    path = data_dir / UP_FILE
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".up-", suffix=".json")  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(dict(fields), out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def remove_up_file(data_dir: Path) -> None:
    (data_dir / UP_FILE).unlink(missing_ok=True)


def find_running_up(data_dir: Path, dsn: str | None = None) -> RunningUp | None:
    """The `up` whose up.json is in `data_dir`, if its process still runs (and it serves `dsn`,
    when one is asked for)."""
    try:
        info = json.loads((data_dir / UP_FILE).read_text())
        running = RunningUp(pid=int(info["pid"]), url=str(info["dashboard"]), token=str(info["token"]),
                            dsn=str(info["dsn"]), bootstrap=info.get("bootstrap"), otlp=info.get("otlp"),
                            data_dir=info.get("data_dir"), topic_prefix=info.get("topic_prefix"))
        os.kill(running.pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if dsn is not None and _same_store(dsn) != _same_store(running.dsn):
        return None
    return running


def _same_store(dsn: str) -> str:
    """One spelling per chDB directory (relative, chdb:// or not)."""
    path = chdb_path(dsn)
    return f"chdb://{path}" if path is not None else dsn


class EndpointClient:
    """Queries through a running `up`. Every failure is a StoreError of one line: ClickHouse's
    message, the refusal, or why `up` did not answer."""

    def __init__(self, up: RunningUp, timeout: float = 90.0) -> None:
        self.up = up
        self._http = httpx.Client(timeout=timeout, trust_env=False,
                                  headers={"Authorization": f"Bearer {up.token}", "Accept": "application/json"})

    def query(self, sql: str, params: dict[str, Any] | None = None, tuning: Settings | None = None) -> QueryResult:
        where = f"the running pipeline at {self.up.url}"
        try:
            response = self._http.post(self.up.query_url, json={"sql": sql, "params": params, "tuning": dict(tuning or {})})
        except httpx.TransportError as exc:
            raise StoreError(f"{where} did not answer ({str(exc) or type(exc).__name__})") from None
        try:
            payload = response.json()
        except ValueError:
            raise StoreError(f"{where} did not answer as phospho-stream up does (HTTP {response.status_code}, "
                             f"{response.headers.get('content-type', 'no content type')})") from None
        error = payload.get("error") if isinstance(payload, dict) else "an answer that is not a JSON object"
        if response.status_code in (401, 403):
            raise StoreError(f"{where} refused this request ({error}): is up.json from this `up`?")
        if error is not None:
            raise (ReadOnlyError if payload.get("kind") == "refused" else StoreError)(str(error))
        return QueryResult(payload["columns"], [tuple(row) for row in payload["rows"]])

    def close(self) -> None:
        self._http.close()


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """JSON of any row value (dates and decimals as text), UTF-8 as is."""
    body = json.dumps(payload, default=str, ensure_ascii=False)
    return Response(body, status, dict(headers or {}), media_type="application/json")


def _bad_request(message: str) -> Response:
    return json_response({"error": message, "kind": "request"}, 400)


def query_route(read: Reader) -> Route:
    """`POST /api/query` with {"sql", "params", "tuning"}: {"columns", "rows"}, or 400 with
    {"error", "kind": "refused" | "store" | "request"}."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _bad_request("the body must be JSON: {\"sql\": ..., \"params\": {...}}")
        if not isinstance(body, dict) or not isinstance(body.get("sql"), str):
            return _bad_request("the body must be a JSON object with a \"sql\" string")
        params, tuning = body.get("params") or None, body.get("tuning") or None
        if not isinstance(params, (dict, type(None))) or not isinstance(tuning, (dict, type(None))):
            return _bad_request("\"params\" and \"tuning\" must be JSON objects")
        try:
            result = await run_in_threadpool(read, body["sql"], params, tuning)
        except ReadOnlyError as exc:
            return json_response({"error": str(exc), "kind": "refused"}, 400)
        except StoreError as exc:
            return json_response({"error": str(exc), "kind": "store"}, 400)
        return json_response({"columns": result.columns, "rows": result.rows})

    return Route("/api/query", endpoint, methods=["POST"])
