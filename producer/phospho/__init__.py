"""phospho: the phospho SDK's API, sending Avro events to Kafka instead of an HTTP API.

    import phospho
    phospho.init()                      # PHOSPHO_PROJECT_ID, PHOSPHO_KAFKA_BOOTSTRAP_SERVERS...
    phospho.log(input="Hi", output="Hello!")
    phospho.flush()

`log` returns in microseconds and never blocks or raises into the app: a daemon thread encodes
and hands events to an exporter (Kafka, or the one given to `init(exporter=...)`); when Kafka is
unreachable events go to a durable spool. `stats()` tells where every event went.
"""

from __future__ import annotations

from typing import Any

from ._api.feedback import user_feedback
from ._api.forward import Forwarder
from ._api.init import RUNTIME, init
from ._api.iterators import MutableAsyncGenerator, MutableGenerator
from ._api.log import log
from ._api.trace import trace, tracer
from ._api.wrap import wrap
from ._core.errors import ConfigurationError, PhosphoError
from ._core.ids import uuid4_hex
from ._core.versions import SDK_VERSION
from ._export.exporter import Exporter, Message

__version__ = SDK_VERSION

__all__ = [
    "ConfigurationError",
    "Exporter",
    "Forwarder",
    "Message",
    "MutableAsyncGenerator",
    "MutableGenerator",
    "PhosphoError",
    "flush",
    "init",
    "log",
    "log_queue",
    "new_session",
    "new_task",
    "shutdown",
    "stats",
    "trace",
    "tracer",
    "user_feedback",
    "wrap",
]

#: phospho's public queue: `log_queue.events[task_id].content` is the dict being built
log_queue = RUNTIME.queue


def new_session() -> str:
    """A new session id (uuid4 hex), to pass as session_id= to phospho.log."""
    session_id = uuid4_hex()
    RUNTIME.latest_session_id = session_id
    return session_id


def new_task() -> str:
    """A new task id (uuid4 hex), to pass as task_id= to phospho.log."""
    task_id = uuid4_hex()
    RUNTIME.latest_task_id = task_id
    return task_id


def flush(timeout: float = 10.0) -> bool:
    """Send everything logged so far; True when all of it was delivered to Kafka (queue,
    producer and spool empty) within `timeout` seconds, False otherwise (nothing is lost:
    undelivered events stay queued or spooled)."""
    return RUNTIME.flush(timeout)


def shutdown(timeout: float | None = None) -> bool:
    """Flush within `timeout` (default: exit_timeout), spool the rest, stop the sender.
    Runs at exit by itself; idempotent."""
    return RUNTIME.shutdown(timeout)


def stats() -> dict[str, Any]:
    """Where the events went: queued, delivered, spooled, failed (counters since start), and
    pending (in memory), in_flight (in the producer), spool_backlog_bytes, spooling, and
    spans_waiting (finished spans waiting for the phospho.log of their thread or tracer block)."""
    return RUNTIME.snapshot()


def __getattr__(name: str) -> Any:
    if name == "instrumentations":  # the OpenTelemetry instrumentations init(tracing=True) enabled
        return RUNTIME.instrumentations
    if name in ("latest_task_id", "latest_session_id", "default_version_id"):
        return getattr(RUNTIME, name if name != "default_version_id" else "version_id")
    raise AttributeError(f"module 'phospho' has no attribute {name!r}")
