"""The worker's faust consumer (phospho_stream._fast_delivery): the same deliveries as faust's
`wait_first(callback(message), suspend_flow.wait())`, without its tasks when the callback does
not wait; and a faithful copy of faust's fetch loop."""

from __future__ import annotations

import asyncio
import difflib
import inspect
import textwrap
from types import SimpleNamespace
from typing import Any, NamedTuple

import pytest
from faust.transport import consumer as faust_consumer
from mode import Service
from mode.utils.locks import Event
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from phospho_stream import _fast_delivery
from phospho_stream._fast_delivery import Consumer, Transport, _Rest, faust_loop_is_known
from phospho_stream.settings import WorkerSettings
from phospho_stream.worker import app_class


class Msg(NamedTuple):
    tp: str
    value: Any


class Probe(Service):
    """Just what `Consumer._deliver` reads of a consumer (its flow events, and the conductor's
    index of each partition's channels), and a count of `wait_first` calls."""

    _deliver = Consumer._deliver
    _until_drained = Consumer._until_drained

    def __init__(self, **queues: Any) -> None:
        super().__init__()
        self.suspend_flow = Event()
        self.waits = 0
        self.app = SimpleNamespace(topics=SimpleNamespace(_tp_index={
            tp: [SimpleNamespace(queue=queue)] for tp, queue in queues.items()}))

    async def wait_first(self, *coros, timeout=None):  # type: ignore[override]
        self.waits += 1
        return await super().wait_first(*coros, timeout=timeout)


def run(coro):
    return asyncio.run(coro)


def test_a_callback_that_does_not_wait_is_delivered_in_place() -> None:
    async def main() -> None:
        probe, queue = Probe(), asyncio.Queue(maxsize=10)

        async def callback(message: Msg) -> None:
            await queue.put(message.value)  # room: no wait

        tasks = len(asyncio.all_tasks())
        for i in range(5):
            await probe._deliver(callback, Msg("t", i))
            assert len(asyncio.all_tasks()) == tasks  # no task made
        assert probe.waits == 0 and [queue.get_nowait() for _ in range(5)] == [0, 1, 2, 3, 4]

    run(main())


def test_a_callback_that_waits_completes_when_the_buffer_has_room() -> None:
    async def main() -> None:
        probe, queue = Probe(), asyncio.Queue(maxsize=1)
        queue.put_nowait("before")

        async def callback(message: Msg) -> str:
            await queue.put(message.value)  # full: waits
            return "delivered"

        delivery = asyncio.ensure_future(probe._deliver(callback, Msg("t", "m")))
        await asyncio.sleep(0.05)
        assert not delivery.done()
        assert queue.get_nowait() == "before"
        await asyncio.wait_for(delivery, 2)
        assert probe.waits == 1 and queue.get_nowait() == "m"

    run(main())


def test_a_waiting_delivery_is_abandoned_when_the_flow_is_suspended() -> None:
    """What faust relies on during a rebalance: a delivery blocked on a full buffer gives up
    (its callback cancelled, the message not put) once the flow is suspended."""

    async def main() -> None:
        probe, queue = Probe(), asyncio.Queue(maxsize=1)
        queue.put_nowait("before")
        cleaned = []

        async def callback(message: Msg) -> None:
            try:
                await queue.put(message.value)
            finally:
                cleaned.append(message.value)

        delivery = asyncio.ensure_future(probe._deliver(callback, Msg("t", "m")))
        await asyncio.sleep(0.05)
        probe.suspend_flow.set()
        await asyncio.wait_for(delivery, 2)
        assert cleaned == ["m"]  # the callback was cancelled, and ran its finally
        queue.get_nowait()
        await asyncio.sleep(0.05)
        assert queue.empty()  # the abandoned message never went in

    run(main())


def test_while_the_flow_is_suspended_deliveries_take_faust_s_own_path() -> None:
    async def main() -> None:
        probe = Probe()
        probe.suspend_flow.set()
        got = []

        async def callback(message: Msg) -> None:
            got.append(message)

        await probe._deliver(callback, Msg("t", 1))
        assert probe.waits == 1

    run(main())


def test_a_callback_error_is_raised_to_the_fetch_loop() -> None:
    async def main() -> None:
        probe = Probe()

        async def fails_at_once(message: Msg) -> None:
            raise ValueError("bad at once")

        async def fails_later(message: Msg) -> None:
            await asyncio.sleep(0.01)
            raise ValueError("bad later")

        with pytest.raises(ValueError, match="bad at once"):
            await probe._deliver(fails_at_once, Msg("t", 1))
        with pytest.raises(ValueError, match="bad later"):
            await probe._deliver(fails_later, Msg("t", 1))

    run(main())


def full_queue(maxsize: int) -> FlowControlQueue:
    """A stream buffer as faust makes them (`Channel.queue`), full."""
    queue: FlowControlQueue = FlowControlQueue(maxsize=maxsize, flow_control=FlowControlEvent(initially_suspended=False))
    for i in range(maxsize):
        queue.put_nowait(i)
    return queue


def test_after_waiting_for_a_full_buffer_the_next_delivery_waits_until_it_drained() -> None:
    """A slow agent keeps its buffer full: the consumer then waits once until the buffer is down
    to its pressure-drop size (40 %), not once per item the agent takes."""

    async def main() -> None:
        queue = full_queue(10)
        probe = Probe(t=queue)

        async def callback(message: Msg) -> None:
            await queue.put(message.value)

        delivery = asyncio.ensure_future(probe._deliver(callback, Msg("t", "m")))
        await asyncio.sleep(0.02)
        assert not delivery.done()
        taken = [queue.get_nowait()]  # room for one: "m" goes in, the delivery waits on
        while queue.qsize() > queue.pressure_drop_size:
            await asyncio.sleep(0.02)
            assert not delivery.done(), queue.qsize()
            taken.append(queue.get_nowait())
        await asyncio.wait_for(delivery, 2)
        assert queue.qsize() == queue.pressure_drop_size == 4 and probe.waits == 1
        assert taken == list(range(7)) and list(queue._queue)[-1] == "m"  # nothing lost, in order

    run(main())


def test_waiting_for_the_buffer_to_drain_ends_when_the_flow_is_suspended_or_the_consumer_stops() -> None:
    async def main() -> None:
        for stop in ("suspend", "stop"):
            queue = full_queue(10)
            probe = Probe(t=queue)

            async def callback(message: Msg, queue: FlowControlQueue = queue) -> None:
                await queue.put(message.value)

            delivery = asyncio.ensure_future(probe._deliver(callback, Msg("t", "m")))
            await asyncio.sleep(0.02)
            queue.get_nowait()
            await asyncio.sleep(0.02)
            assert not delivery.done()  # delivered; waiting for the buffer to drain
            if stop == "suspend":
                probe.suspend_flow.set()
            else:
                probe._stopped.set()
            await asyncio.wait_for(delivery, 2)
            assert queue.qsize() == 10  # it gave up waiting, not the message

    run(main())


def test_rest_continues_a_coroutine_after_its_first_step_with_values_and_cancellation() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        first, second = loop.create_future(), loop.create_future()
        seen = []

        async def body() -> int:
            seen.append(await first)
            await asyncio.sleep(0)  # a bare yield to the loop
            seen.append(await second)
            return sum(seen)

        coro = body()
        task = asyncio.ensure_future(_Rest(coro, coro.send(None)))
        first.set_result(1)
        await asyncio.sleep(0.01)
        second.set_result(2)
        assert await task == 3 and seen == [1, 2]

        cancelled = []
        blocker = loop.create_future()

        async def waits() -> None:
            try:
                await blocker
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        coro = waits()
        task = asyncio.ensure_future(_Rest(coro, coro.send(None)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cancelled == [True]

    run(main())


def test_the_fetch_loop_is_faust_s_with_only_the_delivery_changed() -> None:
    """The copy in _fast_delivery must follow faust's loop line for line; the installed
    faust-streaming must be the one it was copied from, so that workers use it."""
    assert faust_loop_is_known()

    def body(fn) -> list[str]:
        lines = textwrap.dedent(inspect.getsource(fn)).splitlines()
        return [line for line in lines[1:] if line.strip() and not line.strip().startswith("#")]

    ours, theirs = body(Consumer._drain_messages), body(faust_consumer.Consumer._drain_messages)
    changed = [line for line in difflib.ndiff(theirs, ours) if line[:2] in ("- ", "+ ")]
    assert sorted(c[:2] + c[2:].strip() for c in changed) == sorted([
        "- flag_consumer_fetching = CONSUMER_FETCHING",
        "+ flag_consumer_fetching = faust_consumer.CONSUMER_FETCHING",
        "+ deliver = self._deliver",
        "- await self.wait_first(",
        "- callback(message), self.suspend_flow.wait()",
        "- )",
        "+ await deliver(callback, message)",
    ])


def test_the_worker_app_uses_it_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    def transport_of(settings: WorkerSettings, broker: str = "kafka://127.0.0.1:1") -> type:
        return type(app_class(settings)("probe", broker=broker).transport)

    assert WorkerSettings.from_env("x").fast_delivery
    assert transport_of(WorkerSettings.from_env("x")) is Transport
    assert transport_of(WorkerSettings.from_env("x"), "aiokafka://127.0.0.1:1") is Transport
    assert transport_of(WorkerSettings.from_env("x"), "confluent://127.0.0.1:1") is not Transport  # another driver: faust's
    monkeypatch.setenv("PHOSPHO_WORKER_FAST_DELIVERY", "0")
    assert not WorkerSettings.from_env("x").fast_delivery
    assert transport_of(WorkerSettings.from_env("x")) is not Transport
    monkeypatch.delenv("PHOSPHO_WORKER_FAST_DELIVERY")
    monkeypatch.setattr(_fast_delivery, "KNOWN_FAUST_LOOP", "another faust")  # faust changed: its own consumer
    assert transport_of(WorkerSettings.from_env("x")) is not Transport
