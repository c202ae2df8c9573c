"""`phospho.wrap`: log a task per call of a function (sync, async, streaming)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import weakref
from collections.abc import Callable
from time import time as _time
from typing import Any

from .._core.convert import safe_text
from .init import RUNTIME
from .iterators import innermost
from .log import log
from .streaming import StreamLog
from .tasks import build_content

__all__ = ["wrap", "default_stop"]

logger = logging.getLogger("phospho")

#: phospho.log parameters that meta or call kwargs may set; every other kwarg is a top-level key
_LOG_PARAMS = frozenset(
    {"session_id", "task_id", "version_id", "user_id", "raw_input", "raw_output", "input_to_str_function",
     "output_to_str_function", "concatenate_raw_outputs_if_task_id_exists", "input_output_to_usage_function"}
)


def default_stop(item: Any) -> bool:
    """phospho's default end of stream: None, a finish_reason, or a delta without content."""
    if item is None:
        return True
    if isinstance(item, dict):
        choices = item.get("choices") or []
        if choices and isinstance(choices[0], dict):
            if choices[0].get("finish_reason") is not None:
                return True
            delta = choices[0].get("delta")
            if not isinstance(delta, dict) or delta.get("content") is None:
                return True
        return False
    try:  # a ChatCompletionChunk object
        choice = item.choices[0]
        return choice.finish_reason is not None or choice.delta.content is None
    except Exception:
        return False


class _AsyncStreamResult:
    """What a wrapped call returns when a sync callable gave a coroutine and streams (e.g. an
    AsyncOpenAI client's create(stream=True)): usable both as `await call(...)` (as the app
    did before wrapping) and directly as `async for chunk in call(...)` (phospho's form)."""

    def __init__(self, agen: Any) -> None:
        self._agen = agen

    def __aiter__(self) -> Any:
        return self._agen.__aiter__()

    def __await__(self) -> Any:
        async def itself() -> _AsyncStreamResult:
            return self

        return itself().__await__()


def _split(meta: dict[str, Any], call_kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    merged = {**meta, **call_kwargs}
    params = {k: merged.pop(k) for k in list(merged) if k in _LOG_PARAMS}
    return params, merged


def _input(args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {**{str(i): a for i, a in enumerate(args)}, **kwargs}


def _safe_log(input: Any, output: Any, params: dict[str, Any], extras: dict[str, Any]) -> None:
    try:
        log(input, output, **params, **extras)
    except Exception:  # log() already never raises for plain tasks; belt and braces
        logger.exception("phospho.wrap: could not log the call")


def _truthy(value: Any) -> bool:
    try:
        return bool(value)
    except Exception:  # the app's object says neither: not a stream
        return False


def _start_stream(args: tuple, kwargs: dict[str, Any], params: dict[str, Any], extras: dict[str, Any]) -> StreamLog:
    errors: list[str] = []
    p = dict(params)
    content, generated = build_content(
        RUNTIME, _input(args, kwargs), None, p.pop("session_id", None), p.pop("task_id", None), p.pop("version_id", None),
        p.pop("user_id", None), p.pop("raw_input", None), None, p.pop("input_to_str_function", None), None,
        p.get("input_output_to_usage_function"), extras, errors, _time(),
    )
    return StreamLog(RUNTIME, content, content["raw_input"], p.get("output_to_str_function"),
                     p.get("input_output_to_usage_function"), "list", None, generated, errors)


def _followed(stream: Any, stream_log: StreamLog) -> Any:
    """The app's stream, sent when the app drops it (consumed or not)."""
    try:
        weakref.finalize(stream, stream_log.on_drop).atexit = False  # at exit, the runtime sends open streams
    except TypeError:  # no weak reference to it: sent at exit
        pass
    return stream


def _sync_stream(output: Any, stream: StreamLog, stop: Callable[[Any], bool]) -> Any:
    try:
        for item in output:
            if not stream.ended:
                if _stopped(stop, item, stream):
                    stream.end()
                else:
                    stream.chunk(item)
            yield item
    except GeneratorExit:
        stream.end(f"stream closed by the app after {stream.chunks} chunks")
        raise
    except BaseException as exc:
        stream.fail(exc)
        raise
    stream.end()


async def _async_stream(output: Any, stream: StreamLog, stop: Callable[[Any], bool]) -> Any:
    try:
        if inspect.isawaitable(output):
            output = await output
        if hasattr(output, "__aiter__"):
            async for item in output:
                if not stream.ended:
                    stream.end() if _stopped(stop, item, stream) else stream.chunk(item)
                yield item
        else:
            for item in output:
                if not stream.ended:
                    stream.end() if _stopped(stop, item, stream) else stream.chunk(item)
                yield item
    except GeneratorExit:
        stream.end(f"stream closed by the app after {stream.chunks} chunks")
        raise
    except BaseException as exc:
        stream.fail(exc)
        raise
    stream.end()


def _has_aiter(obj: Any) -> bool:
    try:
        return hasattr(obj, "__aiter__")
    except Exception:
        return False


def _stopped(stop: Callable[[Any], bool], item: Any, stream: StreamLog) -> bool:
    try:
        return bool(stop(item))
    except Exception as exc:
        stream.end(f"stop function raised {type(exc).__name__}: {safe_text(exc)}")
        return True


def _make_wrapper(fn: Callable[..., Any], stream: bool | None, stop: Callable[[Any], bool] | None, meta: dict[str, Any]) -> Callable[..., Any]:
    stop_fn = stop or default_stop

    def streaming(call_kwargs: dict[str, Any]) -> bool:
        return _truthy(stream) or _truthy(call_kwargs.get("stream", False))

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapped(*args: Any, **kwargs: Any) -> Any:
            params, extras = _split(meta, kwargs)
            if streaming(kwargs):
                output = await fn(*args, **kwargs)
                stream_log = _start_stream(args, kwargs, params, extras)
                return _followed(_async_stream(output, stream_log, stop_fn), stream_log)
            output = await fn(*args, **kwargs)
            _safe_log(_input(args, kwargs), output, params, extras)
            return output

        return async_wrapped

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        def agen_wrapped(*args: Any, **kwargs: Any) -> Any:
            params, extras = _split(meta, kwargs)
            stream_log = _start_stream(args, kwargs, params, extras)
            return _followed(_async_stream(fn(*args, **kwargs), stream_log, stop_fn), stream_log)

        return agen_wrapped

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        output = fn(*args, **kwargs)
        params, extras = _split(meta, kwargs)
        if streaming(kwargs) or inspect.isgenerator(output):
            stream_log = _start_stream(args, kwargs, params, extras)
            if inspect.iscoroutine(output):
                return _AsyncStreamResult(_followed(_async_stream(output, stream_log, stop_fn), stream_log))
            if _has_aiter(innermost(output)):  # an instrumentation's proxy has both
                return _followed(_async_stream(output, stream_log, stop_fn), stream_log)
            return _followed(_sync_stream(output, stream_log, stop_fn), stream_log)
        if inspect.iscoroutine(output):  # a sync callable returning a coroutine: log its result
            async def awaited() -> Any:
                result = await output
                _safe_log(_input(args, kwargs), result, params, extras)
                return result

            return awaited()
        if isinstance(output, asyncio.Future):
            output.add_done_callback(
                lambda f: _safe_log(_input(args, kwargs), None if f.cancelled() or f.exception() else f.result(), params, extras)
            )
            return output
        _safe_log(_input(args, kwargs), output, params, extras)
        return output

    return wrapped


def wrap(
    __fn: Callable[..., Any] | None = None,
    *,
    stream: bool | None = False,
    stop: Callable[[Any], bool] | None = None,
    **meta_kwargs: Any,
) -> Any:
    """`@phospho.wrap`, `@phospho.wrap(metadata=...)`, or `phospho.wrap(fn, metadata=...)(...)`.

    Each call logs a task: input = {"0": arg0, ..., **kwargs}, output = the return value; the
    meta kwargs and the call's kwargs become top-level keys. Returns exactly what `fn` returned;
    streams (stream=True, or a truthy `stream` kwarg in the call, or a generator function) are
    yielded item by item, unchanged, and logged when stop(item) is true or the stream ends.
    Coroutine functions are awaited and their result logged.
    """

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        return _make_wrapper(fn, stream, stop, meta_kwargs)

    if __fn is None:
        return decorator
    return decorator(__fn)

