"""The process-wide state behind the module-level API: settings, queue, counters, processor.

The app's Runtime (one per process) is created and held by `_api/init.py`; every module below
the entry points receives it. A `phospho.Forwarder` holds a Runtime of its own. `init` can be called again (the previous processor is flushed and
stopped, never leaked); the queue outlives it, so events logged before `init` are sent once it
runs. Exit flushes within `exit_timeout` and spools the rest; a forked child starts a processor
of its own (from the factory `init` gave, so with an exporter of its own).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._core.queue import Event, LogQueue
from .._core.settings import Settings
from .._core.stats import Stats
from .._export.processor import BatchProcessor

__all__ = ["Hooks", "Runtime"]

logger = logging.getLogger("phospho")


@dataclass(frozen=True)
class Hooks:
    """What `init` asks the runtime to run besides sending: `tick` in the sender thread at
    every wake-up, `flush` before a flush, `exit` before the shutdown (streams left open,
    spans waiting for a log)."""

    tick: tuple[Callable[[], None], ...] = ()
    flush: tuple[Callable[[], None], ...] = ()
    exit: tuple[Callable[[], None], ...] = ()


class Runtime:
    def __init__(self) -> None:
        self.queue = LogQueue()
        self.stats = Stats()
        self.settings: Settings | None = None
        self.processor: BatchProcessor | None = None
        self.hooks = Hooks()
        self.project_id: str | None = None
        self.version_id: str | None = None
        self.tracing = False
        self.links: Any = None  # the span links (phospho._tracing.links), once tracing was enabled
        self.instrumentations: tuple[str, ...] = ()  # the OpenTelemetry instrumentations enabled
        self.initialized = False
        self.latest_task_id: str | None = None
        self.latest_session_id: str | None = None
        self.wake_threshold = 1_000
        self._lock = threading.RLock()
        self._make_processor: Callable[[], BatchProcessor] | None = None
        self._hooks_installed = False
        self._orphans: list[BatchProcessor] = []  # a parent's processors, in a forked child: never touched

    def start(self, settings: Settings, make_processor: Callable[[], BatchProcessor], hooks: Hooks,
              tracing: bool) -> None:
        """Start a processor from `make_processor` (used again in a forked child); the previous
        one is flushed and stopped first. Raises ConfigurationError from the factory."""
        with self._lock:
            processor = make_processor()
            previous = self.processor
            if previous is not None:
                previous.shutdown(settings.exit_timeout)  # a second init must not leak a sender
            self.settings, self.processor, self._make_processor = settings, processor, make_processor
            self.hooks = hooks
            self.project_id, self.version_id = settings.project_id, settings.version_id
            self.tracing, self.initialized = tracing, True
            self.queue.maxsize = settings.max_queue_size
            self.wake_threshold = max(1, min(1_000, settings.max_queue_size // 4))
            for event in list(self.queue.ready):  # logged before init: now we know the project
                if event.kind == "task" and event.content.get("project_id") is None:
                    event.content["project_id"] = settings.project_id
            processor.start()
            if not self._hooks_installed:
                atexit.register(self.at_exit)
                os.register_at_fork(after_in_child=self._after_fork_in_child)
                self._hooks_installed = True

    def wake(self) -> None:
        processor = self.processor
        if processor is not None and not processor.awake():
            processor.wake()

    def overflow(self, event: Event) -> None:
        processor = self.processor
        if processor is not None:
            with self.queue.lock:
                self.stats.queued += 1
            processor.send_from_app(event)
        else:
            self.stats.count_failed("the queue is full and phospho.init() was never called")

    def enqueue(self, event: Event) -> None:
        """Queue a feedback or span event (task events go through tasks.submit_task)."""
        queue = self.queue
        with queue.lock:
            full = len(queue.ready) >= queue.maxsize
            if not full:
                queue.ready.append(event)
                event.queued = True
                self.stats.queued += 1
        if full:
            self.overflow(event)
        elif len(queue.ready) >= self.wake_threshold:
            self.wake()

    def flush(self, timeout: float) -> bool:
        for hook in self.hooks.flush:
            hook()
        processor = self.processor
        if processor is None:
            if len(self.queue):
                logger.warning("phospho.flush(): %d events are waiting for phospho.init()", len(self.queue))
                return False
            return True
        return processor.flush(timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        with self._lock:
            for hook in self.hooks.exit:
                hook()
            processor = self.processor
            if processor is None:
                return len(self.queue) == 0
            budget = self.settings.exit_timeout if timeout is None else timeout
            return processor.shutdown(budget)

    def snapshot(self) -> dict[str, Any]:
        """phospho.stats(): the counters and gauges."""
        exporter = self.processor.exporter if self.processor is not None else None
        snapshot = self.stats.snapshot(
            pending=len(self.queue),
            in_flight=_gauge(exporter, "in_flight", 0),
            spool_backlog_bytes=_gauge(exporter, "backlog_bytes", 0),
            spooling=_gauge(exporter, "spooling", False),
        )
        snapshot["spans_waiting"] = self.links.waiting() if self.links is not None else 0
        return snapshot

    def at_exit(self) -> None:
        if self.processor is None and len(self.queue):
            self.stats.failed += len(self.queue)
            logger.error("phospho: %d events were logged but phospho.init() was never called; they were not sent", len(self.queue))
            return
        self.shutdown()

    def _after_fork_in_child(self) -> None:
        self.queue.reset()  # the parent sends what it had queued
        self._lock = threading.RLock()
        if self.processor is not None:
            self._orphans.append(self.processor)
            self.processor = None
            try:
                self.start(self.settings, self._make_processor, self.hooks, self.tracing)
            except Exception:
                logger.exception("phospho: could not start a sender in the forked child")


def _gauge(exporter: Any, name: str, default: Any) -> Any:
    """One of the exporter's gauges; its default when there is no exporter or it raised."""
    if exporter is None:
        return default
    try:
        return getattr(exporter, name)()
    except Exception:
        logger.exception("phospho: the exporter's %s() raised", name)
        return default
