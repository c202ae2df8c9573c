"""Serving the dashboard: in a thread of `phospho-stream up` (on up's store and lock), or alone
(`phospho-stream dashboard`) on a ClickHouse server, a chDB directory, or through a running `up`."""

from __future__ import annotations

import signal
import sys
import threading
from http.server import ThreadingHTTPServer
from typing import Any

from .server import build_server, remote_reader, store_reader

__all__ = ["start_dashboard", "dashboard_url", "run_dashboard"]


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _listen(read: Any, host: str, port: int) -> ThreadingHTTPServer:
    if host not in _LOOPBACK and not host.startswith("127."):
        print(f"phospho-stream: the dashboard listens on {host}, beyond this machine, and asks nobody for a password",
              file=sys.stderr, flush=True)
    return build_server(read, host, port)


def http_url(host: str, port: int) -> str:
    """http://host:port/, an IPv6 address in brackets (RFC 3986: http://[::1]:8080/)."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def dashboard_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return http_url(host, port)


def start_dashboard(store: Any, lock: threading.Lock | None, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """The dashboard on `store`, serving from a daemon thread; `shutdown()` stops it."""
    server = _listen(store_reader(store, lock), host, port)
    threading.Thread(target=server.serve_forever, name="phospho-dashboard", daemon=True).start()
    return server


def run_dashboard(dsn: str | None, host: str = "127.0.0.1", port: int = 0) -> int:
    """`phospho-stream dashboard`: serve until SIGINT/SIGTERM. While `up` holds this store (a chDB
    directory opens in one process only) the reads go through up's query endpoint."""
    from phospho_sinks import StoreError, connect

    from ..up import running_pipeline

    store = None
    if running_pipeline(dsn) is not None:
        read, source = remote_reader(dsn), "the running `phospho-stream up`"
    else:
        try:
            store = connect(dsn)
        except StoreError as exc:
            print(f"phospho-stream dashboard: {exc}", file=sys.stderr)
            return 1
        read, source = store_reader(store), store.dsn.split("@")[-1]
    try:
        server = _listen(read, host, port)
    except OSError as exc:
        print(f"phospho-stream dashboard: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, name="phospho-dashboard", daemon=True).start()
    print(dashboard_url(server), flush=True)  # stdout's first line: the URL, for scripts
    print(f"phospho-stream dashboard: {dashboard_url(server)} (reading {source}; Ctrl-C stops it)", file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        if store is not None:
            store.close()
    return 0
