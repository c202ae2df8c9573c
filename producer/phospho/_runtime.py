"""The process-wide state behind the module-level API: settings, queue, sender, counters.

`init` can be called again (the previous sender is flushed and stopped, never leaked); the
queue outlives it, so events logged before `init` are sent once it runs. Exit flushes within
`exit_timeout` and spools the rest; a forked child starts a sender of its own.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from . import _span_sweep
from ._log_queue import Event, LogQueue
from ._settings import Settings
from ._stats import Stats

__all__ = ["RUNTIME", "Runtime"]

logger = logging.getLogger("phospho")
_ORPHANS: list[Any] = []  # a parent's sender in a forked child: never touched, never destroyed


class Runtime:
    def __init__(self) -> None:
        self.queue = LogQueue()
        self.stats = Stats()
        self.settings: Settings | None = None
        self.sender: Any = None
        self.spool: Any = None
        self.project_id: str | None = None
        self.version_id: str | None = None
        self.tracing = False
        self.instrumentations: tuple[str, ...] = ()  # the OpenTelemetry instrumentations enabled
        self.initialized = False
        self.latest_task_id: str | None = None
        self.latest_session_id: str | None = None
        self.wake_threshold = 1_000
        self._lock = threading.RLock()
        self._hooks_installed = False
        self._sdk_version = "0"

    def start(self, settings: Settings, tracing: bool, sdk_version: str) -> None:
        from ._sender import Sender
        from ._spool import Spool

        with self._lock:
            self._sdk_version = sdk_version
            spool = Spool(settings.spool_dir, settings.spool_max_bytes)
            sender = Sender(settings, self.queue, spool, self.stats, sdk_version)  # may raise ConfigurationError
            previous = self.sender
            if previous is not None:
                previous.shutdown(settings.exit_timeout)  # a second init must not leak a sender
            self.settings, self.sender, self.spool = settings, sender, spool
            self.project_id, self.version_id = settings.project_id, settings.version_id
            self.tracing, self.initialized = tracing, True
            self.queue.maxsize = settings.max_queue_size
            self.wake_threshold = max(1, min(1_000, settings.max_queue_size // 4))
            for event in list(self.queue.ready):  # logged before init: now we know the project
                if event.kind == "task" and event.content.get("project_id") is None:
                    event.content["project_id"] = settings.project_id
            sender.start()
            if not self._hooks_installed:
                atexit.register(self.at_exit)
                os.register_at_fork(after_in_child=self._after_fork_in_child)
                self._hooks_installed = True

    def wake(self) -> None:
        sender = self.sender
        if sender is not None and not sender.awake():
            sender.wake()

    def overflow(self, event: Event) -> None:
        sender = self.sender
        if sender is not None:
            with self.queue.lock:
                self.stats.queued += 1
            sender.send_from_app(event)
        else:
            self.stats.count_failed("the queue is full and phospho.init() was never called")

    def enqueue(self, event: Event) -> None:
        """Queue a feedback or span event (task events go through _tasks.submit_task)."""
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
        self._finish_open_streams(only_abandoned=True)
        sender = self.sender
        if sender is None:
            if len(self.queue):
                logger.warning("phospho.flush(): %d events are waiting for phospho.init()", len(self.queue))
                return False
            return True
        return sender.flush(timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        with self._lock:
            self._finish_open_streams(only_abandoned=False)
            sender = self.sender
            if sender is None:
                return len(self.queue) == 0
            _span_sweep.sweep(self.settings.trace_link_timeout, 0, final=True)  # spans still waiting for a log go now
            budget = self.settings.exit_timeout if timeout is None else timeout
            return sender.shutdown(budget)

    def at_exit(self) -> None:
        if self.sender is None and len(self.queue):
            self.stats.failed += len(self.queue)
            logger.error("phospho: %d events were logged but phospho.init() was never called; they were not sent", len(self.queue))
            return
        self.shutdown()

    def _finish_open_streams(self, only_abandoned: bool) -> None:
        from ._streaming import finish_open_streams

        finish_open_streams(self, only_abandoned)

    def _after_fork_in_child(self) -> None:
        self.queue.reset()  # the parent sends what it had queued
        self._lock = threading.RLock()
        if self.sender is not None:
            _ORPHANS.append(self.sender)
            self.spool.after_fork_in_child()
            self.sender = None
            try:
                self.start(self.settings, self.tracing, self._sdk_version)
            except Exception:
                logger.exception("phospho: could not start a sender in the forked child")


RUNTIME = Runtime()
