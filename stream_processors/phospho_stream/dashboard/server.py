"""The dashboard's HTTP server: the JSON API under /api/, the page and its static files.

Stdlib only (ThreadingHTTPServer, as `up`'s query endpoint). It reads through the read-only
query path (`read_only_query`) with bound parameters; the page loads nothing but its own files
(a Content-Security-Policy says so to the browser).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from phospho_sinks import StoreError, read_only_query

from .api import ROUTES, BadRequest, NotFound, Reader

__all__ = ["STATIC_DIR", "build_server", "store_reader", "remote_reader"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_JSON = "application/json; charset=utf-8"
log = logging.getLogger("phospho_stream.dashboard")
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def store_reader(store: Any, lock: threading.Lock | None = None) -> Reader:
    """Reads on an open store, one statement at a time under `lock` (`up` passes the lock of its
    query endpoint: both serve the same store)."""
    lock = lock or threading.Lock()

    def read(sql: str, params: dict[str, Any] | None = None):
        with lock:
            return read_only_query(store, sql, params)

    return read


def remote_reader(dsn: str | None) -> Reader:
    """Reads through `phospho-stream query`'s path: the running `up` when it holds the store."""
    from ..query import execute

    return lambda sql, params=None: execute(sql, dsn, params)


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, default=str, ensure_ascii=False, allow_nan=False).encode()


def _static_files() -> dict[str, Path]:
    return {p.relative_to(STATIC_DIR).as_posix(): p for p in STATIC_DIR.rglob("*") if p.is_file()}


def build_server(read: Reader, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    files = _static_files()  # only these are served: no path from a request reaches the file system

    class Handler(BaseHTTPRequestHandler):
        server_version = "phospho-dashboard"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            if url.path.startswith("/api/"):
                self._api(url.path[len("/api/"):], url.query)
            elif url.path in ("/", "/index.html"):
                self._file(files["index.html"])
            elif url.path.startswith("/static/") and url.path[len("/static/"):] in files:
                self._file(files[url.path[len("/static/"):]])
            else:
                self._send(404, b"not found", "text/plain; charset=utf-8")

        def _api(self, name: str, query: str) -> None:
            route = ROUTES.get(name)
            if route is None:
                self._json(404, {"error": f"no API {name!r}"})
                return
            args = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
            started = time.perf_counter()
            try:
                status, body = 200, _encode(route(read, args))
            except BadRequest as exc:
                status, body = 400, _encode({"error": str(exc)})
            except NotFound as exc:
                status, body = 404, _encode({"error": str(exc)})
            except StoreError as exc:
                status, body = 502, _encode({"error": f"the store failed: {exc}"})
            except Exception as exc:  # anything else still answers, in JSON, and is logged
                log.exception("dashboard: GET %s failed", self.path)
                status, body = 500, _encode({"error": f"the dashboard failed: {type(exc).__name__}: {exc}"})
            self._send(status, body, _JSON, {"Cache-Control": "no-store",
                                             "Server-Timing": f"db;dur={(time.perf_counter() - started) * 1000:.1f}"})

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, _encode(payload), _JSON, {"Cache-Control": "no-store"})

        def _file(self, path: Path) -> None:
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind.endswith("javascript"):
                kind += "; charset=utf-8"
            self._send(200, path.read_bytes(), kind, {"Cache-Control": "no-cache"})

        def _send(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", _CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer  # an IPv6 address, e.g. ::1
    server = server_class((host, port), Handler)
    server.daemon_threads = True
    return server
