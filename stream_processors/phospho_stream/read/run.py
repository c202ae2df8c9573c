"""`phospho-stream dashboard`: the read app alone, until SIGINT/SIGTERM.

It reads a ClickHouse server, a chDB directory, or the running `up` of the data directory."""

from __future__ import annotations

import signal
import sys
import threading

from ..settings import ReadSettings
from .access import LOOPBACK
from .server import ReadServer, serve
from .source import ReadSource, open_source

__all__ = ["run_dashboard", "listen"]


def listen(source: ReadSource, settings: ReadSettings) -> ReadServer:
    """The read app on settings.host:port, reading `source` (OSError if it cannot listen)."""
    host = settings.host
    if host not in LOOPBACK and not host.startswith("127."):
        print(f"phospho-stream dashboard: listening on {host}, beyond this machine: anyone who can reach it "
              "and has the token reads the store", file=sys.stderr, flush=True)
    return serve(source.read, host, settings.port, public_url=settings.public_url)


def run_dashboard(settings: ReadSettings) -> int:
    """Serve until SIGINT/SIGTERM; stdout's first line is the URL to open (it carries the token)."""
    source = open_source(settings)
    try:
        server = listen(source, settings)
    except OSError as exc:
        source.close()
        print(f"phospho-stream dashboard: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(server.login_url, flush=True)
    print(f"phospho-stream dashboard: {server.url} (reading {source.description}; open the URL above once, "
          "it carries the token; Ctrl-C stops it)", file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
        source.close()
    return 0
