"""The batch processor, in the style of OpenTelemetry's BatchSpanProcessor: one daemon thread
drains the bounded LogQueue, runs the runtime's hooks, encodes events and hands them to an
Exporter (see exporter.py). flush(timeout) and shutdown(timeout) honour their timeouts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from .._core.queue import Event, LogQueue
from .._core.stats import Stats
from .exporter import Exporter, Message

__all__ = ["BatchProcessor", "Encode"]

logger = logging.getLogger("phospho")
_BATCH = 2_000

#: event -> its Message, or None when it cannot be sent (counted as failed by the encoder)
Encode = Callable[[Event], "Message | None"]


class _FlushRequest:
    __slots__ = ("deadline", "done", "result", "failed_before")

    def __init__(self, deadline: float, failed_before: int) -> None:
        self.deadline = deadline
        self.failed_before = failed_before
        self.done = threading.Event()
        self.result = False


class BatchProcessor:
    """Owns the sender thread. `hooks` run at every wake-up, in that thread, before the queue
    is drained (abandoned streams, the span sweep)."""

    def __init__(self, queue: LogQueue, stats: Stats, encode: Encode, exporter: Exporter,
                 hooks: Sequence[Callable[[], None]], interval: float) -> None:
        self._queue = queue
        self._stats = stats
        self._encode = encode
        self.exporter = exporter
        self._hooks = tuple(hooks)
        self._interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._flush_lock = threading.Lock()
        self._app_lock = threading.Lock()
        self._flush_requests: list[_FlushRequest] = []
        self._thread = threading.Thread(target=self._run, name="phospho-sender", daemon=True)

    # -- app side ------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def awake(self) -> bool:
        return self._wake.is_set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def flush(self, timeout: float) -> bool:
        if not self.alive:
            return False
        request = _FlushRequest(time.monotonic() + timeout, self._stats.failed)
        with self._flush_lock:
            self._flush_requests.append(request)
        self._wake.set()
        return request.done.wait(timeout) and request.result

    def shutdown(self, timeout: float) -> bool:
        """Flush within `timeout`, let the exporter keep whatever is left, stop the thread.
        Idempotent."""
        if not self.alive:
            return True
        delivered = self.flush(timeout)
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout + 5.0)
        return delivered

    def send_from_app(self, event: Event) -> None:
        """Called in the app's thread when the queue is full ("caller runs", as in a thread
        pool's rejection policy): encode this one event right there and hand it to the
        exporter's thread-safe send_now. This costs the caller one event's encoding, adds no
        extra work, and keeps memory bounded."""
        with self._app_lock:
            try:
                message = self._encode(event)
            except Exception as exc:
                self._stats.count_failed(f"could not encode a {event.kind} event: {exc!r}")
                return
            if message is None:
                return
            try:
                self.exporter.send_now(message)
            except Exception as exc:  # never into the app: the event is lost, and counted
                self._stats.count_failed(f"the exporter {type(self.exporter).__name__} raised {exc!r}")

    # -- sender thread -------------------------------------------------------------------------
    def _run(self) -> None:
        interval = self._interval
        while True:
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self._iteration()
            except Exception:  # never let the sender die
                logger.exception("phospho: unexpected error in the sender thread")
                time.sleep(interval)
            if self._stopping.is_set():
                self._final()
                return

    def _iteration(self) -> None:
        for hook in self._hooks:
            hook()
        self._send_queued(deadline=time.monotonic() + 0.5)
        self.exporter.tick(idle=len(self._queue) == 0)
        self._serve_flushes()

    def _send_queued(self, deadline: float) -> None:
        take, export = self._queue.take, self._export
        while True:
            batch = take(_BATCH)
            if not batch:
                return
            export(self._encoded(batch))
            if time.monotonic() > deadline and not self._flush_requests:
                self._wake.set()  # come back at once, after serving the rest of the loop
                return

    def _export(self, messages: list[Message]) -> None:
        try:
            self.exporter.export(messages)
        except Exception as exc:  # an exporter must not raise: what it was given is lost, and counted
            self._stats.count_failed(f"the exporter {type(self.exporter).__name__} raised {exc!r}", len(messages))

    def _encoded(self, batch: list[Event]) -> list[Message]:
        encode, messages = self._encode, []
        for event in batch:
            try:
                message = encode(event)
            except Exception as exc:
                self._stats.count_failed(f"could not encode a {event.kind} event: {exc!r}")
                continue
            if message is not None:
                messages.append(message)
        return messages

    def _serve_flushes(self) -> None:
        with self._flush_lock:
            requests, self._flush_requests = self._flush_requests, []
        if not requests:
            return
        deadline = max(r.deadline for r in requests)
        failed_before = min(r.failed_before for r in requests)
        while True:
            self._send_queued(deadline)
            remaining = deadline - time.monotonic()
            delivered = self.exporter.flush(max(0.0, min(remaining, 0.5)))
            clean = delivered and len(self._queue) == 0
            if clean or time.monotonic() >= deadline:
                break
        for request in requests:
            request.result = clean and self._stats.failed == failed_before
            request.done.set()

    def _final(self) -> None:
        """At shutdown: the exporter keeps what is still queued and what it could not deliver
        (Kafka: in the spool, for the next start)."""
        remaining: list[Message] = []
        try:
            while batch := self._queue.take(_BATCH):
                remaining += self._encoded(batch)
        finally:
            try:
                self.exporter.shutdown(remaining)
            except Exception:
                logger.exception("phospho: the exporter %s failed to shut down", type(self.exporter).__name__)
