"""Serving the read app with uvicorn from a thread (`serving.ThreadedServer`)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from ..serving import ThreadedServer, http_url, shown_host
from .app import build_app
from .reader import Reader

__all__ = ["ReadServer", "serve", "http_url"]


class ReadServer:
    """The read app on its socket, served by uvicorn in a daemon thread until `stop()`."""

    def __init__(self, read: Reader, host: str, port: int, token: str | None = None,
                 public_url: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self._server = ThreadedServer(host, port, "read app")
        self.host, self.port = host, self._server.port
        # the URL to print: the public one, else this host's (loopback when it serves every interface)
        self.url = public_url.rstrip("/") + "/" if public_url else http_url(shown_host(host), self.port)
        self._app = build_app(read, self.token, host, self.port, public_url)

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
        self._server.serve(self._app, timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking requests (the socket is closed: a request then fails at once), finish
        the running ones."""
        self._server.stop(timeout)


def serve(read: Reader, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
          public_url: str | None = None) -> ReadServer:
    """The read app on host:port, started (OSError if it cannot listen there)."""
    return ReadServer(read, host, port, token, public_url).start()
