"""`phospho.tracer()` / `@phospho.trace()`: ids and metadata stamped on every log inside.

Built on a ContextVar, so it is correct across threads and asyncio tasks, nests, and restores
the outer context even when the block raises (phospho leaves the ids set: our choice is to
restore). Spans started inside a block belong to its task (see _span_links); when a block ends
without logging its task, the spans it holds are sent under its own session.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ._ids import new_session_id, new_task_id, uuid4_hex
from ._runtime import RUNTIME
from ._span_links import Link, context_closed, context_link

__all__ = ["TraceContext", "current", "tracer", "trace"]


@dataclass(frozen=True, slots=True)
class TraceContext:
    task_id: str
    session_id: str
    session_generated: bool
    metadata: dict[str, Any] | None
    name: str
    link: Link


_CURRENT: ContextVar[TraceContext | None] = ContextVar("phospho_trace_context", default=None)
current = _CURRENT.get


def _new_context(task_id: str | None, session_id: str | None, metadata: dict[str, Any] | None) -> TraceContext:
    if not RUNTIME.initialized:
        raise ValueError("Call phospho.init() before calling phospho.tracer()")
    if not RUNTIME.tracing:
        raise ValueError("To use tracing, you need to call phospho.init(tracing=True) first")
    task_id = task_id or new_task_id()
    session = session_id or new_session_id()
    return TraceContext(
        task_id=task_id,
        session_id=session,
        session_generated=not session_id,
        metadata=dict(metadata) if metadata else None,
        name=f"local_context{uuid4_hex()}",
        link=context_link(task_id, session, not session_id),
    )


@contextmanager
def tracer(
    task_id: str | None = None,
    session_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Iterator[str]:
    ctx = _new_context(task_id, session_id, metadata)
    token = _CURRENT.set(ctx)
    try:
        yield ctx.name
    finally:
        _CURRENT.reset(token)
        context_closed(ctx.link)


def trace(
    task_id: str | None = None,
    session_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator form of `tracer`, for plain functions, coroutines and (async) generators."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isasyncgenfunction(func):

            @functools.wraps(func)
            async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
                ctx = _new_context(task_id, session_id, metadata)
                agen = func(*args, **kwargs)
                value = None
                try:
                    while True:
                        token = _CURRENT.set(ctx)
                        try:
                            item = await agen.asend(value)
                        except StopAsyncIteration:
                            return
                        finally:
                            _CURRENT.reset(token)
                        value = yield item
                finally:
                    context_closed(ctx.link)

            return agen_wrapper
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                ctx = _new_context(task_id, session_id, metadata)
                gen = func(*args, **kwargs)
                value = None
                try:
                    while True:
                        token = _CURRENT.set(ctx)
                        try:
                            item = gen.send(value)
                        except StopIteration as stop:
                            return stop.value
                        finally:
                            _CURRENT.reset(token)
                        value = yield item
                finally:
                    context_closed(ctx.link)

            return gen_wrapper
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with tracer(task_id, session_id, metadata):
                    return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer(task_id, session_id, metadata):
                return func(*args, **kwargs)

        return wrapper

    return decorator
