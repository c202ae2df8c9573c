"""StreamLog: a stream's task event, built chunk by chunk; streams left open at flush or exit.

A `StreamLog` follows one stream (iterators.py attaches it to the app's iterator): on the first chunk the task event appears in
`log_queue.events[task_id]` (not yet to send); each chunk extends it (output text concatenated,
raw_output a list of converted chunks, token counts added up); when the stream ends, stop(chunk)
is true, or the stream raises, the event is marked to send. A stream dropped before its end is
sent too, with a reason in its errors. The app sees every chunk unchanged.
"""

from __future__ import annotations

import collections
import gc
import logging
from collections.abc import Callable
from time import time as _time
from typing import Any

from .._core.convert import to_loggable
from .._core.extract import chunk_fields
from .._core.queue import Event
from .runtime import Runtime

__all__ = ["StreamLog", "finish_abandoned", "finish_dropped", "finish_all"]

logger = logging.getLogger("phospho")
#: streams garbage-collected before their end; the sender or flush finishes them (a GC callback
#: must not take the queue lock: it may run while this thread holds it)
_ABANDONED: collections.deque[StreamLog] = collections.deque()


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
        self.event: Event | None = None
        self.chunks = 0
        self.ended = False

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
            if isinstance(usage, dict):
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
        if self.ended:
            return
        self.ended = True
        runtime = self._runtime
        queue = runtime.queue
        with queue.lock:
            event = self._ensure_event(True)
            if error:
                event.errors.append(error)
            event.to_log = True
            if not event.queued:
                queue.ready.append(event)
                event.queued = True
                runtime.stats.queued += 1
        runtime.wake()

    def fail(self, exc: BaseException) -> None:
        self.end(f"stream raised {type(exc).__name__}: {exc} after {self.chunks} chunks")

    def abandoned(self) -> None:
        if not self.ended:
            _ABANDONED.append(self)


def finish_open_streams(runtime: Runtime, only_abandoned: bool) -> None:
    if runtime.queue.events and runtime.queue.pending_streams():
        gc.collect()  # streams dropped inside a reference cycle (openai's Stream) are found here
    while _ABANDONED:
        stream = _ABANDONED.popleft()
        stream.end(f"stream dropped by the app after {stream.chunks} chunks")
    if not only_abandoned:
        for event in runtime.queue.pending_streams():
            event.errors.append("stream not finished when the app exited")
            with runtime.queue.lock:
                event.to_log = True
                if not event.queued:
                    runtime.queue.ready.append(event)
                    event.queued = True
                    runtime.stats.queued += 1


def finish_abandoned(runtime: Runtime) -> None:
    """The sender thread's hook: send the streams the app dropped since the last wake-up."""
    if _ABANDONED:
        finish_open_streams(runtime, only_abandoned=True)


def finish_dropped(runtime: Runtime) -> None:
    """flush()'s hook: send every stream the app dropped (a garbage collection finds those
    dropped inside a reference cycle)."""
    finish_open_streams(runtime, only_abandoned=True)


def finish_all(runtime: Runtime) -> None:
    """The exit hook: send every stream, finished or not."""
    finish_open_streams(runtime, only_abandoned=False)
