"""`@phospho.trace` in all its forms: bare or called, on plain functions, coroutines, generators
and async generators. A generator's block is set for each of its steps, including the ones
`throw()` / `close()` (`athrow()` / `aclose()`) run: its `except` and `finally` log to its task.
The real SDK with tracing=True, on an in-memory exporter (no span is made here)."""

from __future__ import annotations

import asyncio
import uuid

import pytest


@pytest.fixture
def traced(sdk, wire):
    wire.init(tracing=True)
    yield sdk
    wire.init()


def tag() -> str:
    return uuid.uuid4().hex[:12]


def test_throw_reaches_the_generator_inside_its_block(traced):
    sdk, task = traced, f"gen-{tag()}"

    @sdk.trace(task_id=task)
    def steps():
        try:
            received = yield "ready"
            yield f"got {received}"
        except KeyError as exc:
            yield ("recovered", exc.args[0], sdk.log(input="recovered", output="ok")["task_id"])

    g = steps()
    assert next(g) == "ready"
    assert g.send("x") == "got x"  # send still reaches it
    assert g.throw(KeyError("missing")) == ("recovered", "missing", task)
    with pytest.raises(StopIteration):
        next(g)
    assert sdk._tracing.context.current() is None


def test_an_uncaught_throw_comes_back_and_a_return_value_passes(traced):
    sdk, task = traced, f"gen-{tag()}"

    @sdk.trace(task_id=task)
    def steps():
        yield sdk._tracing.context.current().task_id
        return "done"

    def outer():
        return (yield from steps())

    g = outer()
    assert next(g) == task
    with pytest.raises(StopIteration) as stop:
        next(g)
    assert stop.value.value == "done"
    g = steps()
    next(g)
    with pytest.raises(ValueError, match="boom"):
        g.throw(ValueError("boom"))
    assert sdk._tracing.context.current() is None


def test_close_runs_the_generators_finally_at_once_inside_its_block(traced):
    sdk, task = traced, f"gen-{tag()}"
    cleaned: list[str] = []

    @sdk.trace(task_id=task)
    def steps():
        try:
            yield 1
            yield 2
        finally:
            cleaned.append(sdk.log(input="cleanup", output="ok")["task_id"])

    g = steps()
    assert next(g) == 1
    g.close()
    assert cleaned == [task]
    assert sdk._tracing.context.current() is None


def test_athrow_and_aclose_reach_the_async_generator_inside_its_block(traced):
    sdk, task = traced, f"agen-{tag()}"
    cleaned: list[str] = []

    @sdk.trace(task_id=task)
    async def steps():
        try:
            while True:
                try:
                    received = yield "ready"
                    yield f"got {received}"
                except KeyError as exc:
                    yield ("recovered", exc.args[0], sdk.log(input="recovered", output="ok")["task_id"])
        finally:
            await asyncio.sleep(0)
            cleaned.append(sdk.log(input="cleanup", output="ok")["task_id"])

    async def main():
        g = steps()
        assert await g.__anext__() == "ready"
        assert await g.asend("x") == "got x"
        assert await g.athrow(KeyError("missing")) == ("recovered", "missing", task)
        await g.aclose()
        assert cleaned == [task]
        assert sdk._tracing.context.current() is None

    asyncio.run(main())


def test_bare_decorator(traced):
    sdk = traced

    @sdk.trace
    def plain(question):
        first, second = sdk.log(input=question, output="a"), sdk.log(input=question, output="b")
        return first["task_id"], second["task_id"], sdk._tracing.context.current().task_id

    @sdk.trace
    async def coroutine():
        return sdk.log(input="q", output="a")["task_id"], sdk._tracing.context.current().task_id

    @sdk.trace
    def generator():
        yield sdk.log(input="q", output="a")["task_id"]
        yield sdk._tracing.context.current().task_id

    first, second, block = plain("q")
    assert first == second == block  # both logs are the block's task
    logged, block = asyncio.run(coroutine())
    assert logged == block
    logged, block = list(generator())
    assert logged == block
    assert plain.__name__ == "plain" and sdk._tracing.context.current() is None
