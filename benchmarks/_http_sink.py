"""A local HTTP endpoint that accepts everything, for the phospho 0.3.45 baseline.

phospho 0.3.45's consumer thread POSTs `{"batched_log_events": [...]}` to
`{base_url}/v2/log/{project_id}` (Authorization: Bearer <api key>, JSON body) every tick.
`HttpSink` answers 200 `{}` to any GET or POST, and counts the log events it received, with
the CLOCK_MONOTONIC time (time.monotonic_ns, system-wide on Linux, so comparable with the
child process's clock) of the first and the last batch received. Standard library only.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["HttpSink"]

_OK = b"{}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive when the client wants it
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # no access log on stderr
        pass

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(_OK)))
        self.end_headers()
        self.wfile.write(_OK)

    def do_GET(self) -> None:
        self.server.sink._count_request("GET", self.path, None)
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.sink._count_request("POST", self.path, body)
        self._answer()

    do_PUT = do_POST
    do_PATCH = do_POST


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: HttpSink


class HttpSink:
    """`with HttpSink() as sink: sink.base_url` -> 'http://127.0.0.1:<free port>'."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.sink = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-sink", daemon=True)
        self._lock = threading.Lock()
        self.events = 0  # log events received (items of batched_log_events)
        self.requests = 0
        self.log_posts = 0  # POSTs to .../log/<project>
        self.bad_bodies = 0
        self.paths: dict[str, int] = {}
        self.first_event_ns: int | None = None
        self.last_event_ns: int | None = None
        self.bytes_received = 0

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _count_request(self, method: str, path: str, body: bytes | None) -> None:
        n = 0
        bad = False
        if body:
            try:
                payload = json.loads(body)
                if isinstance(payload, dict) and isinstance(payload.get("batched_log_events"), list):
                    n = len(payload["batched_log_events"])
            except ValueError:
                bad = True
        now = time.monotonic_ns()
        route = path.split("?", 1)[0]
        parts = route.strip("/").split("/")
        key = f"{method} " + ("/".join(parts[:-1]) + "/<id>" if len(parts) >= 2 and parts[-2] == "log" else route)
        with self._lock:
            self.requests += 1
            self.paths[key] = self.paths.get(key, 0) + 1
            self.bytes_received += len(body or b"")
            self.bad_bodies += bad
            if n:
                self.log_posts += 1
                self.events += n
                if self.first_event_ns is None:
                    self.first_event_ns = now
                self.last_event_ns = now

    def wait_for(self, events: int, timeout: float) -> bool:
        """True once `events` log events were received, False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.events >= events:
                return True
            time.sleep(0.01)
        return self.events >= events

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "events": self.events,
                "requests": self.requests,
                "log_posts": self.log_posts,
                "bad_bodies": self.bad_bodies,
                "bytes_received": self.bytes_received,
                "paths": dict(self.paths),
                "first_event_ns": self.first_event_ns,
                "last_event_ns": self.last_event_ns,
            }

    def start(self) -> HttpSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> HttpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
