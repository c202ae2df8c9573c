"""Streamed outputs: `log(..., stream=True)`, MutableGenerator and MutableAsyncGenerator.

A `StreamLog` follows one stream: on the first chunk the task event appears in
`log_queue.events[task_id]` (not yet to send); each chunk extends it (output text concatenated,
raw_output a list of converted chunks, token counts added up); when the stream ends, stop(chunk)
is true, or the stream raises, the event is marked to send. A stream dropped before its end is
sent too, with a reason in its errors. The app sees every chunk unchanged.
"""

from __future__ import annotations

import collections
import gc
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from time import time as _time
from typing import Any

from ._convert import to_loggable
from ._extract import detect_usage, output_to_text
from ._log_queue import Event
from ._runtime import RUNTIME, Runtime

__all__ = ["MutableGenerator", "MutableAsyncGenerator", "StreamLog", "observe", "innermost", "finish_open_streams"]

logger = logging.getLogger("phospho")
#: streams garbage-collected before their end; the sender or flush finishes them (a GC callback
#: must not take the queue lock: it may run while this thread holds it)
_ABANDONED: collections.deque[StreamLog] = collections.deque()


class StreamLog:
    """The task event of one stream, built chunk by chunk."""

    def __init__(
        self,
        content: dict[str, Any],
        conv_input: Any,
        output_to_str_function: Callable[[Any], str] | None,
        usage_function: Callable[[Any, Any], dict] | None,
        raw_mode: str,
        event_ms: int | None,
        session_generated: bool,
        errors: list[str],
    ) -> None:
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
            RUNTIME.queue.events[event.id] = event
        return event

    def chunk(self, value: Any) -> None:
        if self.ended:
            return
        errors = self._errors
        conv = value if value is None or type(value) is str else to_loggable(value, errors, "output")
        text = None
        if self._to_str is not None:
            try:
                text = self._to_str(conv)
            except Exception as exc:
                note = f"output_to_str_function raised {type(exc).__name__}: {exc}; default rule used"
                if note not in errors:
                    errors.append(note)
        if text is None:
            text = output_to_text(conv)
        usage = None
        if self._usage is not None:
            try:
                usage = self._usage(self._conv_input, conv)
            except Exception as exc:
                errors.append(f"input_output_to_usage_function raised {type(exc).__name__}: {exc}")
        else:
            usage = detect_usage(conv)
        now = _time()
        queue = RUNTIME.queue
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
        runtime = RUNTIME
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


def _observed_next(stream: StreamLog | None, step: Callable[[], Any]) -> Any:
    """One step of a followed iterator: report the chunk, the end or the failure, then behave
    exactly as the step did (same value, same exception)."""
    try:
        value = step()
    except StopIteration:
        if stream is not None:
            stream.end()
        raise
    except BaseException as exc:
        if stream is not None:
            stream.fail(exc)
        raise
    if stream is not None:
        stream.chunk(value)
    return value


async def _observed_anext(stream: StreamLog | None, step: Callable[[], Any]) -> Any:
    """Async counterpart of _observed_next."""
    try:
        value = await step()
    except StopAsyncIteration:
        if stream is not None:
            stream.end()
        raise
    except BaseException as exc:
        if stream is not None:
            stream.fail(exc)
        raise
    if stream is not None:
        stream.chunk(value)
    return value


class MutableGenerator:
    """phospho's wrapper making a generator loggable: iteration ends when stop(value) is true
    (that value is not yielded)."""

    def __init__(self, generator: Any, stop: Callable[[Any], bool]) -> None:
        self.generator = generator
        self.stop = stop
        self._it = iter(generator)
        self._phospho_stream: StreamLog | None = None

    def __iter__(self) -> Iterator[Any]:
        return self

    def _step(self) -> Any:
        value = next(self._it)
        if self.stop(value):
            raise StopIteration
        return value

    def __next__(self) -> Any:
        return _observed_next(self._phospho_stream, self._step)


class MutableAsyncGenerator:
    """Async counterpart of MutableGenerator."""

    def __init__(self, generator: Any, stop: Callable[[Any], bool]) -> None:
        self.generator = generator
        self.stop = stop
        self._phospho_stream: StreamLog | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def _step(self) -> Any:
        value = await self.generator.__anext__()
        if self.stop(value):
            raise StopAsyncIteration
        return value

    async def __anext__(self) -> Any:
        return await _observed_anext(self._phospho_stream, self._step)


_OBSERVED: dict[type, type] = {}


def _observed_class(cls: type) -> type:
    """A subclass of `cls` whose iteration reports to the instance's `_phospho_stream`."""
    sub = _OBSERVED.get(cls)
    if sub is not None:
        return sub
    ns: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    if hasattr(cls, "__next__"):
        def __next__(self: Any) -> Any:
            return _observed_next(self.__dict__.get("_phospho_stream"), lambda: cls.__next__(self))
        ns["__next__"] = __next__
    if hasattr(cls, "__iter__"):
        def __iter__(self: Any) -> Any:
            inner = cls.__iter__(self)
            stream = self.__dict__.get("_phospho_stream")
            if inner is self or stream is None:
                return inner  # iteration goes through __next__
            return _observe_iterator(inner, stream)
        ns["__iter__"] = __iter__
    if hasattr(cls, "__anext__"):
        async def __anext__(self: Any) -> Any:
            return await _observed_anext(self.__dict__.get("_phospho_stream"), lambda: cls.__anext__(self))
        ns["__anext__"] = __anext__
    if hasattr(cls, "__aiter__"):
        def __aiter__(self: Any) -> Any:
            inner = cls.__aiter__(self)
            stream = self.__dict__.get("_phospho_stream")
            if inner is self or stream is None:
                return inner
            return _observe_async_iterator(inner, stream)
        ns["__aiter__"] = __aiter__
    sub = type(cls.__name__, (cls,), ns)
    _OBSERVED[cls] = sub
    return sub


def _observe_iterator(inner: Any, stream: StreamLog) -> Iterator[Any]:
    try:
        for value in inner:
            stream.chunk(value)
            yield value
    except GeneratorExit:
        raise
    except BaseException as exc:
        stream.fail(exc)
        raise
    stream.end()


async def _observe_async_iterator(inner: Any, stream: StreamLog) -> AsyncIterator[Any]:
    try:
        async for value in inner:
            stream.chunk(value)
            yield value
    except GeneratorExit:
        raise
    except BaseException as exc:
        stream.fail(exc)
        raise
    stream.end()


def innermost(obj: Any) -> Any:
    """The object behind transparent proxies (wrapt's ObjectProxy, whose `__class__` is the
    wrapped object's): OpenTelemetry instrumentations hand the app such proxies of streams."""
    for _ in range(8):
        if type(obj) is obj.__class__ or not hasattr(obj, "__wrapped__"):
            break
        obj = obj.__wrapped__
    return obj


def observe(output: Any, stream: StreamLog) -> bool:
    """Attach `stream` to the app's iterable (or to the stream behind its proxy); False when it
    cannot be observed."""
    if isinstance(output, (MutableGenerator, MutableAsyncGenerator)):
        output._phospho_stream = stream
    else:
        output = innermost(output)
        try:
            output.__class__ = _observed_class(type(output))
            output.__dict__["_phospho_stream"] = stream
        except (TypeError, AttributeError):
            return False
    weakref.finalize(output, stream.abandoned)
    return True
