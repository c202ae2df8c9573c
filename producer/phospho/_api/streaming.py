"""StreamLog: a stream's task event, built chunk by chunk; streams left open at flush or exit.

A `StreamLog` follows one stream (iterators.py attaches it to the app's iterator, wrap.py drives
a wrapped function's): on the first chunk the task event appears in `log_queue.events[task_id]`
(not yet to send); each chunk extends it (output text concatenated, raw_output a list of
converted chunks, token counts added up); when the stream ends, stop(chunk) is true, or the
stream raises, the event is marked to send. A stream the app drops, consumed or not, is sent
when it is garbage-collected, at the next flush (which collects garbage) or at exit; a stream
still open at exit is sent then. Each of those carries its reason in its errors. The app sees
every chunk unchanged.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from time import time as _time
from typing import Any

from .._core.convert import safe_text, to_loggable
from .._core.extract import chunk_fields
from .._core.queue import Event
from .runtime import Runtime

__all__ = ["StreamLog", "send_dropped_streams", "collect_dropped_streams", "send_all_streams"]

logger = logging.getLogger("phospho")


class StreamLog:
    """The task event of one stream, built chunk by chunk."""

    def __init__(
        self,
        runtime: Runtime,
        content: dict[str, Any],
        conv_input: Any,
        output_to_str_function: Callable[[Any], str] | None,
        usage_function: Callable[[Any, Any], dict] | None,
        raw_mode: str,
        event_ms: int | None,
        session_generated: bool,
        errors: list[str],
    ) -> None:
        self._runtime = runtime
        self.content = content
        self._conv_input = conv_input
        self._to_str = output_to_str_function
        self._usage = usage_function
        self._raw_mode = raw_mode  # "list" of chunks, "last" chunk, or "explicit" raw_output kept
        self._event_ms = event_ms
        self._generated = session_generated
        self._errors = errors
        self._end_error: str | None = None
        self.event: Event | None = None
        self.chunks = 0
        self.ended = False
        queue = runtime.queue
        with queue.lock:
            queue.streams.add(self)

    def _ensure_event(self, to_log: bool) -> Event:
        event = self.event
        if event is None:
            content = self.content
            if self._raw_mode == "list":
                content["raw_output"] = []
            event = Event(str(content["task_id"]), content, to_log, "task", int(_time() * 1000),
                          self._generated, self._errors, stream=True)
            event.event_ms = self._event_ms
            self.event = event
            self._runtime.queue.events[event.id] = event
        return event

    def chunk(self, value: Any) -> None:
        if self.ended:
            return
        errors = self._errors
        conv = value if value is None or type(value) is str else to_loggable(value, errors, "output")
        text, usage = chunk_fields(conv, self._conv_input, self._to_str, self._usage, errors)
        now = _time()
        queue = self._runtime.queue
        with queue.lock:
            event = self._ensure_event(False)
            content = event.content
            content["output"] = f"{content.get('output') or ''}{text or ''}"
            if self._raw_mode == "list":
                content["raw_output"].append(conv)
            elif self._raw_mode == "last":
                content["raw_output"] = conv
            if usage:
                for key, count in usage.items():
                    old = content.get(key)
                    summed = key in ("completion_tokens", "total_tokens") and isinstance(old, (int, float)) and isinstance(count, (int, float))
                    content[key] = old + count if summed else count
            if isinstance(conv, dict) and conv.get("model") is not None:
                content["model"] = conv["model"]
            content["last_update"] = int(now)
            event.last_ms = int(now * 1000)
        self.chunks += 1

    def end(self, error: str | None = None) -> None:
        """Mark the stream's event to send (with `error`, if any, in its errors). Safe in a
        garbage collection: when the queue's lock is taken, the sender thread finishes it."""
        if self.ended:
            return
        self.ended = True
        self._end_error = error
        runtime = self._runtime
        queue = runtime.queue
        if queue.lock.acquire(blocking=False):
            try:
                self._send()
            finally:
                queue.lock.release()
        else:
            queue.dropped.append(self)
        runtime.wake()

    def _send(self) -> None:
        """Under the queue's lock: the event joins the ready queue."""
        runtime = self._runtime
        queue = runtime.queue
        queue.streams.discard(self)
        event = self._ensure_event(True)
        if self._end_error:
            event.errors.append(self._end_error)
        event.to_log = True
        if not event.queued:
            queue.ready.append(event)
            event.queued = True
            runtime.stats.queued += 1

    def fail(self, exc: BaseException) -> None:
        self.end(f"stream raised {type(exc).__name__}: {safe_text(exc)} after {self.chunks} chunks")

    def on_drop(self) -> None:
        """The app's iterator was garbage-collected (a finalizer: takes no lock)."""
        if not self.ended:
            self._runtime.queue.dropped.append(self)

    def reason_left_open(self, when: str) -> str:
        if self.chunks == 0:
            return f"stream never consumed by the app; sent {when}"
        return f"stream not finished after {self.chunks} chunks; sent {when}"


def _finish(runtime: Runtime, only_dropped: bool) -> None:
    queue = runtime.queue
    while queue.dropped:
        stream = queue.dropped.popleft()
        if not stream.ended:
            stream.end(stream.reason_left_open("when the app dropped it"))
        else:  # ended while the lock was taken
            with queue.lock:
                if stream in queue.streams:
                    stream._send()
    if not only_dropped:
        with queue.lock:
            still_open = list(queue.streams)
        for stream in still_open:
            stream.end(stream.reason_left_open("when the app exited"))


def send_dropped_streams(runtime: Runtime) -> None:
    """The sender thread's hook: send the streams dropped or ended since the last wake-up."""
    if runtime.queue.dropped:
        _finish(runtime, only_dropped=True)


def collect_dropped_streams(runtime: Runtime) -> None:
    """flush()'s hook: send every stream the app dropped (a garbage collection finds those
    dropped inside a reference cycle, e.g. openai's Stream)."""
    if runtime.queue.streams:
        gc.collect()
    _finish(runtime, only_dropped=True)


def send_all_streams(runtime: Runtime) -> None:
    """The exit hook: send every stream, finished or not."""
    _finish(runtime, only_dropped=False)
