"""The OTLP receiver running: its Forwarder (the SDK's pipeline to Kafka) and its app served by
uvicorn from a thread, on a socket bound first (a port in use is an OSError at once; port 0
gives a free port, known before the first request)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from phospho import ConfigurationError, Forwarder

from ..errors import PhosphoStreamError
from .app import TRACES_PATH, build_app
from .ingest import Ingest
from .traces import TraceMemory

__all__ = ["OtlpReceiver", "OtlpError", "start_receiver"]


class OtlpError(PhosphoStreamError):
    """The receiver cannot start: the message says what to do."""


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class OtlpReceiver:
    """`POST /v1/traces` on host:port, producing through `forwarder`, until `stop()`."""

    def __init__(self, forwarder: Forwarder, host: str, port: int, max_body_bytes: int, memory_bytes: int,
                 token: str | None = None) -> None:
        self.forwarder = forwarder
        self.ingest = Ingest(forwarder, TraceMemory(memory_bytes))
        self._socket = _bind(host, port)
        self.host, self.port = host, self._socket.getsockname()[1]
        shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        self.endpoint = f"http://[{shown}]:{self.port}" if ":" in shown else f"http://{shown}:{self.port}"
        config = uvicorn.Config(build_app(self.ingest, max_body_bytes, token), lifespan="off", log_config=None,
                                log_level="warning", access_log=False, server_header=False,
                                timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="phospho-otlp", daemon=True)

    @property
    def traces_url(self) -> str:
        return self.endpoint + TRACES_PATH

    def start(self, timeout: float = 30.0) -> OtlpReceiver:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise OSError(f"the OTLP receiver did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        return self

    def stop(self, flush_seconds: float = 10.0) -> bool:
        """Stop taking requests, finish the running ones, then send what they made (what Kafka
        does not take in `flush_seconds` stays in the spool); True when all of it was delivered."""
        self._server.should_exit = True
        self._thread.join(15)
        self._socket.close()
        return self.forwarder.shutdown(flush_seconds)


def start_receiver(project_id: str, bootstrap: str, topic_prefix: str, spool_dir: Path, host: str, port: int,
                   max_body_bytes: int, memory_bytes: int, token: str | None = None,
                   schema_registry_url: str | None = None) -> OtlpReceiver:
    """The receiver, started; OtlpError for a setting the SDK refuses, OSError when it cannot listen."""
    try:
        forwarder = Forwarder(project_id, bootstrap_servers=bootstrap, topic_prefix=topic_prefix, spool_dir=spool_dir,
                              schema_registry_url=schema_registry_url)
    except ConfigurationError as exc:
        raise OtlpError(f"the OTLP receiver cannot produce to Kafka: {exc}") from None
    try:
        return OtlpReceiver(forwarder, host, port, max_body_bytes, memory_bytes, token).start()
    except OSError:
        forwarder.shutdown(0)
        raise
