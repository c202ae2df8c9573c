"""An Exporter that keeps every message in memory (the wire bytes, decoded on demand), plugged in
through `phospho.init(exporter=...)`: the SDK's whole path from the app's call to the Avro
message, without a broker."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import phospho
from phospho._api.init import RUNTIME
from phospho_schemas import EventDecoder

_TOPIC_KIND = {"tasks": "task", "spans": "span", "feedback": "feedback"}


class MemoryExporter:
    """Every message given to it, in order; `stats` counts them as delivered."""

    def __init__(self, settings: Any, stats: Any) -> None:
        self.settings = settings
        self._stats = stats
        self._lock = threading.Lock()
        self.messages: list[phospho.Message] = []
        self.stopped = False

    def _take(self, messages: Sequence[phospho.Message]) -> None:
        with self._lock:
            self.messages.extend(messages)
        self._stats.count_delivered(len(messages))

    def export(self, messages: Sequence[phospho.Message]) -> None:
        self._take(messages)

    def send_now(self, message: phospho.Message) -> None:
        self._take([message])

    def tick(self, idle: bool) -> None:
        pass

    def flush(self, timeout: float) -> bool:
        return True

    def shutdown(self, remaining: Sequence[phospho.Message]) -> None:
        self._take(remaining)
        self.stopped = True

    def in_flight(self) -> int:
        return 0

    def spooling(self) -> bool:
        return False

    def backlog_bytes(self) -> int:
        return 0

    def records(self, kind: str | None = None) -> list[tuple[phospho.Message, dict[str, Any]]]:
        """(message, decoded record) of every message so far, of one kind (task, span,
        feedback) or all."""
        decoder = EventDecoder()
        with self._lock:
            messages = list(self.messages)
        out = []
        for message in messages:
            if kind is None or _TOPIC_KIND.get(message.topic.rsplit(".", 1)[-1]) == kind:
                out.append((message, decoder.decode(message.value)[1]))
        return out


class MemorySdk:
    """phospho initialised with a MemoryExporter: `init(**overrides)` (again, e.g. with
    tracing=True), `exporter` (the current one), `records(kind)` and `task(task_id)`."""

    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir = spool_dir
        self.exporters: list[MemoryExporter] = []

    def _factory(self, settings: Any, stats: Any) -> MemoryExporter:
        exporter = MemoryExporter(settings, stats)
        self.exporters.append(exporter)
        return exporter

    def init(self, **overrides: Any) -> None:
        kwargs = {"project_id": "test-project", "version_id": "test-version", "spool_dir": self.spool_dir,
                  "exporter": self._factory, **overrides}
        phospho.init(**kwargs)

    @property
    def exporter(self) -> MemoryExporter:
        return self.exporters[-1]

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every record exported since the first init, flushed first."""
        assert phospho.flush(10), phospho.stats()
        return [record for exporter in self.exporters for _, record in exporter.records(kind)]

    def task(self, task_id: str) -> dict[str, Any]:
        """The one task record of `task_id`."""
        matches = [r for r in self.records("task") if r["task_id"] == task_id]
        assert len(matches) == 1, f"{len(matches)} task records for {task_id}"
        return matches[0]


def init_kwargs(settings: Any) -> dict[str, Any]:
    """phospho.init's arguments that give back these resolved settings."""
    return {
        "project_id": settings.project_id, "api_key": settings.api_key, "bootstrap_servers": settings.bootstrap_servers,
        "schema_registry_url": settings.schema_registry_url, "topic_prefix": settings.topic_prefix,
        "spool_dir": settings.spool_dir, "version_id": settings.version_id, "max_queue_size": settings.max_queue_size,
        "tick": settings.flush_interval, "exit_timeout": settings.exit_timeout, "max_field_chars": settings.max_field_chars,
        "max_event_bytes": settings.max_event_bytes, "spool_max_bytes": settings.spool_max_bytes,
        "trace_link_timeout": settings.trace_link_timeout, "kafka_config": settings.kafka_config,
    }


@contextmanager
def memory_sdk(spool_dir: Path) -> Iterator[MemorySdk]:
    """phospho on a MemoryExporter for the block; the SDK's previous settings (e.g. the session
    broker's) are restored after it."""
    previous, tracing = RUNTIME.settings, RUNTIME.tracing
    sdk = MemorySdk(spool_dir)
    sdk.init()
    try:
        yield sdk
    finally:
        if previous is not None:
            phospho.init(**init_kwargs(previous), tracing=tracing)
