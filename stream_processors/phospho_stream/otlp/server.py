"""The OTLP receiver running: its Forwarder (the SDK's pipeline to Kafka) and its app served by
uvicorn from a thread (`serving.ThreadedServer`: a port in use is an OSError at once)."""

from __future__ import annotations

from pathlib import Path

from phospho import ConfigurationError, Forwarder

from ..errors import PhosphoStreamError
from ..serving import ThreadedServer, http_url, shown_host
from .app import TRACES_PATH, build_app
from .ingest import Ingest
from .traces import TraceMemory

__all__ = ["OtlpReceiver", "OtlpError", "start_receiver"]


class OtlpError(PhosphoStreamError):
    """The receiver cannot start: the message says what to do."""


class OtlpReceiver:
    """`POST /v1/traces` on host:port, producing through `forwarder`, until `stop()`."""

    def __init__(self, forwarder: Forwarder, host: str, port: int, max_body_bytes: int, memory_bytes: int,
                 token: str | None = None) -> None:
        self.forwarder = forwarder
        self.ingest = Ingest(forwarder, TraceMemory(memory_bytes))
        self._server = ThreadedServer(host, port, "OTLP receiver")
        self.host, self.port = host, self._server.port
        self.endpoint = http_url(shown_host(host), self.port).rstrip("/")
        self._app = build_app(self.ingest, max_body_bytes, token)

    @property
    def traces_url(self) -> str:
        return self.endpoint + TRACES_PATH

    def start(self, timeout: float = 30.0) -> OtlpReceiver:
        self._server.serve(self._app, timeout)
        return self

    def stop(self, flush_seconds: float = 10.0) -> bool:
        """Stop taking requests, finish the running ones, then send what they made (what Kafka
        does not take in `flush_seconds` stays in the spool); True when all of it was delivered."""
        self._server.stop(15)
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
