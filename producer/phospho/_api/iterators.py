"""Following the app's iterators unchanged: MutableGenerator, MutableAsyncGenerator, and
`observe`, which makes any other iterable (an OpenAI Stream, behind an instrumentation's proxy
too) report its chunks, end and failure to a StreamLog while the app sees every chunk as it was."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .streaming import StreamLog

__all__ = ["MutableGenerator", "MutableAsyncGenerator", "observe", "innermost"]


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
        try:
            if type(obj) is obj.__class__ or not hasattr(obj, "__wrapped__"):
                break
            obj = obj.__wrapped__
        except Exception:  # an object whose attributes raise: itself
            break
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
        except Exception:  # a class that cannot be subclassed, an object without a __dict__...
            return False
    try:
        weakref.finalize(output, stream.on_drop).atexit = False  # at exit, the runtime sends open streams
    except TypeError:  # no weak reference to it: sent at its end, or at exit
        pass
    return True
