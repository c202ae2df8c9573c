"""An ASGI app served by uvicorn from a daemon thread, on a socket bound first: a port in use is
an OSError at once, and port 0 gives a free port that is known before the first request. The
read app (dashboard, query endpoint) and the OTLP receiver are served this way."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

__all__ = ["ThreadedServer", "shown_host", "http_url"]

_SHOWN = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def shown_host(host: str) -> str:
    """The address to print for `host` (loopback when it serves every interface)."""
    return _SHOWN.get(host, host)


def http_url(host: str, port: int) -> str:
    """http://host:port/, an IPv6 address in brackets (RFC 3986: http://[::1]:8080/)."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _bind(host: str, port: int) -> socket.socket:
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets that say TCP, and
    # without it a keep-alive client waits ~40 ms (Nagle and delayed ACK) for each response body
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class ThreadedServer:
    """Bind at construction (`port` is then the real one); `serve(app)` starts uvicorn in a
    daemon thread and waits until it accepts; `stop()` closes the socket after the running
    requests finished."""

    def __init__(self, host: str, port: int, name: str) -> None:
        self._socket = _bind(host, port)
        self.host, self.port, self.name = host, self._socket.getsockname()[1], name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def serve(self, app: Any, timeout: float = 30.0) -> None:
        config = uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning", access_log=False,
                                server_header=False, timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"phospho-{self.name}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise OSError(f"the {self.name} did not start on {self.host}:{self.port}")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
        self._socket.close()
