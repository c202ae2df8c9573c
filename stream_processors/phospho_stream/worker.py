"""The faust layer, kept thin: one agent over the three co-partitioned input topics.

The agent reads events with manual acks and gathers them into batches (`batch_size` events, or
what came within `batch_seconds`, or within `batch_idle_seconds` while the engine is idle: small
batches at a low rate, full ones under load). Each batch goes to the worker's engine (`_engine.py`:
decoding, dead letters, session and join rules, durable state, rows out), which runs in a child
process by default (`_engine_process.py`), so faust reads batch N+1 on one core while the
engine processes batch N on another. A batch's events are acknowledged only when the engine
returned, so faust commits input offsets only after their state and rows are durable. Up to
three batches are in the engine's queue, processed in the order they were handed over. A timer writes spans
and feedback whose task never came (orphans). Storage is idempotent: delivery is at least once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections import deque
from typing import Any

import faust

from phospho_schemas import Topics

from ._engine import json_messages
from ._engine_process import start_engine
from ._errors import EngineError
from ._fast_delivery import Transport, faust_loop_is_known
from .settings import WorkerSettings

__all__ = ["WorkerSettings", "build_app", "run_worker", "json_messages"]

logger = logging.getLogger("phospho.worker")


class _Batches:
    """Events gathered into batches for the engine: up to IN_ENGINE batches handed over (one
    whose rows are on their way, one processed meanwhile, the next waiting), so that the engine
    never waits for the agent to hand one over."""

    IN_ENGINE = 3

    def __init__(self, call: Any, stream: Any, size: int, seconds: float, failed: list[BaseException]) -> None:
        self.call, self.stream, self.size, self.seconds, self.failed = call, stream, size, seconds, failed
        self.events: list[Any] = []
        self.started = 0.0
        self.in_engine: deque[asyncio.Future[Any]] = deque()
        self.lock = asyncio.Lock()  # the agent and the timer take turns to dispatch

    def add(self, event: Any) -> bool:
        """Gather an event; True when the batch is full."""
        if not self.events:
            self.started = time.monotonic()
        self.events.append(event)
        return len(self.events) >= self.size

    def due(self, idle_seconds: float) -> bool:
        """A partial batch goes when it is `seconds` old, or `idle_seconds` old while the engine
        has nothing to do: small batches at a low rate (latency), full ones under load."""
        if not self.events:
            return False
        age = time.monotonic() - self.started
        idle = all(f.done() for f in self.in_engine)
        return age >= self.seconds or (idle and age >= idle_seconds)

    async def dispatch(self) -> None:
        """Hand the gathered events to the engine once it has room (an engine failure is raised
        here, in the agent or the timer, and its batch stays unacknowledged)."""
        async with self.lock:
            while self.in_engine and (len(self.in_engine) >= self.IN_ENGINE or self.in_engine[0].done()):
                await self.in_engine.popleft()
            if not self.events or self.failed:  # after a failure nothing more is processed or acknowledged
                return
            events, self.events = self.events, []
            messages = [(m.topic, m.partition, m.offset, m.key, e.value) for e in events for m in (e.message,)]
            self.in_engine.append(asyncio.ensure_future(self._run(events, messages)))

    async def _run(self, events: list[Any], messages: list[Any]) -> None:
        await self.call("batch", messages, int(time.time() * 1000))
        if self.failed:  # an earlier batch failed: the worker stops, this one is read again too
            return
        ack = self.stream.ack
        for event in events:
            await ack(event)

    async def wait(self) -> None:
        """Until the batches in the engine are done and acknowledged."""
        while self.in_engine:
            await self.in_engine.popleft()


class _FastDeliveryApp(faust.App):
    """A faust App whose consumer hands messages to the agents without faust's four asyncio
    tasks per message (`_fast_delivery.py`), when faust's fetch loop is the one it copies."""

    def _new_transport(self) -> Any:
        if self.conf.broker_consumer[0].scheme not in ("kafka", "aiokafka"):
            return super()._new_transport()  # another faust driver: its own consumer
        if faust_loop_is_known():
            return Transport(self.conf.broker_consumer, self)
        logger.warning("phospho-stream worker: this faust-streaming's fetch loop is not the one _fast_delivery copies; "
                       "using faust's own consumer")
        return super()._new_transport()


def app_class(settings: WorkerSettings) -> type[faust.App]:
    return _FastDeliveryApp if settings.fast_delivery else faust.App


def build_app(settings: WorkerSettings, datadir: str | None = None) -> faust.App:
    """The worker's faust App. Its engine starts here (call it from the main thread)."""
    topics = Topics(settings.topic_prefix)
    extra = {"datadir": datadir} if datadir else {}
    app = app_class(settings)(
        settings.app_id,
        **extra,
        broker=f"kafka://{settings.bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.partitions,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=6,
        broker_rebalance_timeout=6,
        broker_heartbeat_interval=1,
        stream_wait_empty=False,
        worker_redirect_stdouts=False,  # the CLI's own output stays on stdout
    )
    inputs = app.topic(topics.tasks, topics.spans, topics.feedback, key_serializer="raw", value_serializer="raw")
    engine = start_engine(settings)
    batches: list[_Batches] = []  # the agent's, once it runs
    failed: list[BaseException] = []
    app.engine_failure = failed  # type: ignore[attr-defined]  # run_worker and `up` exit 1 when set
    stopping: list[bool] = []

    async def call(command: str, *args: Any) -> Any:
        """An engine command. If it fails, the worker stops (exit status 1) without
        acknowledging anything more: on restart it reads again from the last committed
        offsets, with the state as it was made durable. Once the worker is stopping, a command
        that finds the engine closed is cancelled, as faust cancels its agents and timers."""
        try:
            return await asyncio.to_thread(engine.call, command, *args)
        except EngineError as exc:
            if stopping:
                raise asyncio.CancelledError() from exc
            if not failed:
                failed.append(exc)
                logger.critical("phospho-stream worker: the engine failed, stopping: %s", exc)
                os.kill(os.getpid(), signal.SIGTERM)  # faust's own graceful stop
            raise

    @app.on_partitions_revoked.connect
    async def forget(app_: Any, revoked: set[Any], **_: Any) -> None:
        # the batch in the engine finishes (and is acknowledged) before the state is dropped;
        # gathered events of revoked partitions are let go unacknowledged: their new owner reads
        # them, and this worker must not write state for partitions it no longer owns
        for b in batches:
            async with b.lock:
                await b.wait()
                b.events = [e for e in b.events if e.message.tp not in revoked]
        await call("drop", {tp.partition for tp in revoked if tp.topic in inputs.topics})

    @app.on_before_shutdown.connect
    async def close_engine(app_: Any, **_: Any) -> None:
        stopping.append(True)
        await asyncio.to_thread(engine.close)

    @app.task
    async def create_changelog() -> None:
        await call("ensure_topics")

    @app.agent(inputs)
    async def pipeline(stream: Any) -> None:
        manual = stream.noack()
        b = _Batches(call, manual, settings.batch_size, settings.batch_seconds, failed)
        batches.append(b)
        try:
            async for event in manual.events():
                if b.add(event):
                    await b.dispatch()
        finally:
            batches.remove(b)

    @app.timer(interval=min(settings.batch_idle_seconds, settings.batch_seconds))
    async def dispatch_due() -> None:
        for b in batches:
            if b.due(settings.batch_idle_seconds):
                await b.dispatch()

    @app.timer(interval=settings.expire_every)
    async def orphans() -> None:
        await call("expire", int(time.time() * 1000))

    return app


def run_worker(settings: WorkerSettings, loglevel: str = "warn") -> None:
    """Run one worker until interrupted (faust's own worker: signals, rebalancing, recovery)."""
    import sys
    from pathlib import Path

    # faust keeps some files per app: under the data directory, not in the current directory
    datadir = Path(os.environ.get("PHOSPHO_DATA_DIR", ".phospho")).resolve() / "faust"
    datadir.mkdir(parents=True, exist_ok=True)  # faust does not create it
    app = build_app(settings, datadir=str(datadir))
    sys.argv = [sys.argv[0], "--quiet", "worker", "-l", loglevel, "--without-web"]  # the flag beats web_enabled
    try:
        app.main()
    finally:
        if app.engine_failure:
            raise SystemExit(1)
