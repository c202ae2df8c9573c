"""faust's fetch loop without four asyncio tasks per message.

faust's `Consumer._drain_messages` hands each fetched message to its conductor with
`await self.wait_first(callback(message), self.suspend_flow.wait())`: mode's `wait_first` makes
four tasks (the callback, the flow-suspension wait, the consumer's stopped and crashed waits)
and an `asyncio.wait` for every message, ~30 us of CPU each here, about a third of faust's whole
per-message cost. Almost always the callback cannot wait at all: it puts the event in the
agent's stream buffer, which has room.

`Consumer` here is faust's aiokafka consumer with one change in that loop (`_deliver`): the
callback runs one step in place, and when it finished (the common case) nothing else is
needed; when it has to wait (a full buffer, suspended flow control), the rest of it goes
through `wait_first` exactly as faust does, so a rebalance or a stop still abandons the
delivery. While the flow is suspended or the consumer stopping, the message goes to
`wait_first` from the start.

Three differences remain, by design:
- the callback's first step runs in the fetch loop's own task, not a task of its own: a
  callback that set context variables or a task-scoped timeout there would set them on the
  fetch loop. faust's conductor callback (`conductor.py`) does neither: it takes a lock, waits
  for flow control and the producer's buffer, decodes and puts the event in the agents'
  queues;
- faust's loop gave the event loop a turn at every message (inside `asyncio.wait`); this one
  does so every 100 messages, as faust's loop also does (`yield_every`), or when a delivery
  waits. Timers and rebalance callbacks wait at most that long (a few ms);
- after a delivery that had to wait, the loop waits until the buffer is down to its
  pressure-drop size (40 %, where faust resumes fetching a paused partition) before the next
  one (`_until_drained`). Under faust's loop, an agent slower than the fetch loop (the
  worker's engine busy) keeps its buffer full, and each item it takes lets exactly one message
  in, through `wait_first` and the conductor's own task per full put: ~40 us of CPU per
  message, when the worker is busiest. Measured: the worker's faust process went from ~0.62
  to ~0.47 core at the same rate.

The loop is a copy of faust-streaming's, and it relies on what faust's conductor does, so it is
used only when faust's loop and conductor are the ones it was written against (same source
hash); with another faust, the worker keeps faust's consumer and logs it.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, cast

from faust.transport import conductor as faust_conductor
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode import Service

__all__ = ["Transport", "faust_loop_is_known", "KNOWN_FAUST_LOOP"]

logger = logging.getLogger("phospho.worker")

#: how often a delivery that found the stream buffer full checks whether it drained
DRAIN_POLL_SECONDS = 0.005

#: sha256 of faust-streaming 0.15.3's `Consumer._drain_messages` source (which `Consumer`
#: below copies) followed by its conductor module's (whose callbacks it steps and whose
#: channel index it reads)
KNOWN_FAUST_LOOP = "fa72a24aa1b2e0b3a4301edfc8d649a8092ef20ebdd93760476d86379f13112d"


def _faust_loop_hash() -> str | None:
    try:
        source = inspect.getsource(faust_consumer.Consumer._drain_messages) + inspect.getsource(faust_conductor)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()


def faust_loop_is_known() -> bool:
    return _faust_loop_hash() == KNOWN_FAUST_LOOP


class _Rest:
    """The rest of a coroutine that already ran one step and yielded `waiting` (the future it
    waits for): awaiting this continues it, as `yield from` would, cancellation included."""

    __slots__ = ("_coro", "_waiting")

    def __init__(self, coro: Any, waiting: Any) -> None:
        self._coro, self._waiting = coro, waiting

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value = self._coro, self._waiting
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # thrown in by the task (cancellation): the coroutine's to handle
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


class Consumer(faust_aiokafka.Consumer):
    async def _deliver(self, callback: Callable[[Any], Awaitable[Any]], message: Any) -> None:
        """`callback(message)`, abandoned if the flow is suspended meanwhile (as faust's
        `wait_first(callback(message), suspend_flow.wait())`), without its tasks when the callback
        does not have to wait."""
        suspend_flow = self.suspend_flow
        if suspend_flow.is_set() or self.should_stop or self._crashed.is_set():
            await self.wait_first(callback(message), suspend_flow.wait())
            return
        coro = cast(Any, callback(message))
        try:
            waiting = coro.send(None)
        except StopIteration:
            return  # delivered at once
        await self.wait_first(_Rest(coro, waiting), suspend_flow.wait())
        await self._until_drained(message.tp)

    async def _until_drained(self, tp: Any) -> None:
        """After a delivery that had to wait (the stream's buffer was full): wait until the
        buffers of tp's channels are down to their pressure-drop size before delivering more.
        Without this, a buffer kept full by a slower agent takes one message per item the agent
        takes, each through `wait_first` (and the conductor's own task per full put): ~40 us of
        CPU per message exactly when the worker is busiest. Polled every DRAIN_POLL_SECONDS;
        stops waiting as soon as the flow is suspended or the consumer stops."""
        queues = [chan.queue for chan in self.app.topics._tp_index.get(tp, ())]
        suspend_flow = self.suspend_flow
        while any(q.qsize() > q.pressure_drop_size for q in queues):
            if suspend_flow.is_set() or self.should_stop or self._crashed.is_set():
                return
            await asyncio.sleep(DRAIN_POLL_SECONDS)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - faust's loop, one line changed
        # faust-streaming 0.15.3's Consumer._drain_messages; the only change: `_deliver`
        # instead of `wait_first(callback(message), self.suspend_flow.wait())`
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = faust_consumer.CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        deliver = self._deliver

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                ait = cast(AsyncIterator, getmany(timeout=1.0))

                # Sleeping because sometimes getmany is called in a loop
                # never releasing to the event loop
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            # We have a gap in income messages
                            if gap > 1 and r_offset:
                                acks_enabled = acks_enabled_for(message.topic)
                                if acks_enabled:
                                    await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None:
                                if self._n_acked >= commit_every:
                                    self._n_acked = 0
                                    await self.commit()
                            await deliver(callback, message)
                            set_read_offset(tp, offset)
                        else:
                            self.log.dev(
                                "DROPPED MESSAGE ROFF %r: k=%r v=%r",
                                offset,
                                message.key,
                                message.value,
                            )
                    unset_flag(flag_consumer_fetching)

        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)


class Transport(faust_aiokafka.Transport):
    """faust's aiokafka transport with the `Consumer` above."""

    Consumer = Consumer
