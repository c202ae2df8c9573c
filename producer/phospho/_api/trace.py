"""`phospho.tracer()` and `@phospho.trace` / `@phospho.trace(task_id=, session_id=, metadata=)`, its
decorator form for plain functions, coroutines, generators and async generators: check the
runtime, then open a tracing context (see phospho._tracing.context).

A generator runs its body a step at a time, so the block's context is set for each step only:
the wrapper drives the generator as `yield from` does (send, throw, close; asend, athrow, aclose
for an async generator), each inside the block. `g.throw(exc)` reaches the generator's own
`except`, and `g.close()` runs its `finally` at once, inside the block. The block starts at the
generator's first step (so a block around the iteration is its outer block).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .._tracing.context import CURRENT, TraceContext, new_context
from .init import RUNTIME

__all__ = ["trace", "tracer"]

_Ids = tuple[str | None, str | None, dict[str, Any] | None]


def _open(task_id: str | None, session_id: str | None, metadata: dict[str, Any] | None) -> TraceContext:
    if not RUNTIME.initialized:
        raise ValueError("Call phospho.init() before calling phospho.tracer()")
    if not RUNTIME.tracing:
        raise ValueError("To use tracing, you need to call phospho.init(tracing=True) first")
    return new_context(task_id, session_id, metadata)


@contextmanager
def tracer(
    task_id: str | None = None,
    session_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Iterator[str]:
    """A block whose logs (and spans) belong to one task: `with phospho.tracer(task_id=...,
    session_id=..., metadata=...):`. Raises ValueError unless init(tracing=True) ran."""
    ctx = _open(task_id, session_id, metadata)
    token = CURRENT.set(ctx)
    try:
        yield ctx.name
    finally:
        CURRENT.reset(token)


def _generator(func: Callable[..., Any], ids: _Ids) -> Callable[..., Any]:
    @functools.wraps(func)
    def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = _open(*ids)
        gen = func(*args, **kwargs)
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            token = CURRENT.set(ctx)
            try:
                if to_throw is None:
                    item = gen.send(to_send)
                else:
                    exc, to_throw = to_throw, None
                    item = gen.throw(exc)
            except StopIteration as stop:
                return stop.value
            finally:
                CURRENT.reset(token)
            try:
                to_send = yield item
            except GeneratorExit:
                token = CURRENT.set(ctx)
                try:
                    gen.close()
                finally:
                    CURRENT.reset(token)
                raise
            except BaseException as thrown:  # g.throw(...): the wrapped generator handles it
                to_throw = thrown

    return gen_wrapper


def _async_generator(func: Callable[..., Any], ids: _Ids) -> Callable[..., Any]:
    @functools.wraps(func)
    async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = _open(*ids)
        agen = func(*args, **kwargs)
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            token = CURRENT.set(ctx)
            try:
                if to_throw is None:
                    item = await agen.asend(to_send)
                else:
                    exc, to_throw = to_throw, None
                    item = await agen.athrow(exc)
            except StopAsyncIteration:
                return
            finally:
                CURRENT.reset(token)
            try:
                to_send = yield item
            except GeneratorExit:
                token = CURRENT.set(ctx)
                try:
                    await agen.aclose()
                finally:
                    CURRENT.reset(token)
                raise
            except BaseException as thrown:  # await g.athrow(...): the wrapped generator handles it
                to_throw = thrown

    return agen_wrapper


def _decorate(func: Callable[..., Any], ids: _Ids) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(func):
        return _async_generator(func, ids)
    if inspect.isgeneratorfunction(func):
        return _generator(func, ids)
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer(*ids):
                return await func(*args, **kwargs)

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with tracer(*ids):
            return func(*args, **kwargs)

    return wrapper


def trace(
    task_id: str | Callable[..., Any] | None = None,
    session_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Decorator form of `tracer`: `@phospho.trace`, `@phospho.trace()` or
    `@phospho.trace(task_id=..., session_id=..., metadata=...)`."""
    if callable(task_id):  # bare @phospho.trace: the function itself
        return _decorate(task_id, (None, session_id, metadata))
    ids: _Ids = (task_id, session_id, metadata)

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        return _decorate(func, ids)

    return decorator
