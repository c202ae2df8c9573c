"""Serving the read app with uvicorn from a thread.

Its socket is bound before it starts: a port in use is an OSError at once, and port 0 gives a
free port that is known before the first request."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from urllib.parse import urlsplit

import uvicorn

from .app import build_app
from .reader import Reader

__all__ = ["ReadServer", "serve", "http_url"]

_SHOWN = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


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


class ReadServer:
    """The read app on its socket, served by uvicorn in a daemon thread until `stop()`."""

    def __init__(self, read: Reader, host: str, port: int, token: str | None = None,
                 public_url: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self._socket = _bind(host, port)
        self.host, self.port = host, self._socket.getsockname()[1]
        # the URL to print: the public one, else this host's (loopback when it serves every interface)
        self.url = public_url.rstrip("/") + "/" if public_url else http_url(_SHOWN.get(host, host), self.port)
        app = build_app(read, self.token, host, self.port, public_url)
        config = uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning", access_log=False,
                                server_header=False, timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="phospho-read-app", daemon=True)

    @property
    def login_url(self) -> str:
        """The URL to open once: it carries the token, which the app trades for a cookie."""
        return f"{self.url}?token={self.token}"

    @property
    def query_url(self) -> str:
        return self.url + "api/query"

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    def start(self, timeout: float = 30.0) -> ReadServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise OSError(f"the read app did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking requests (the socket is closed: a request then fails at once), finish
        the running ones."""
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()


def serve(read: Reader, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
          public_url: str | None = None) -> ReadServer:
    """The read app on host:port, started (OSError if it cannot listen there)."""
    return ReadServer(read, host, port, token, public_url).start()
