"""The core stage's faust agent: batches of events and points to the core engine, acknowledged
once the engine made them durable.

The agent only gathers batches; `apply` hands them to the engine one at a time, in order, so
faust reads and wraps the next batch while the engine works on this one (one waits between
them). A message is acknowledged after its batch's rows and state are durable: the agent holds
a reference on it (`Message.incref`) that `take_events` does not release, `apply` does.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust

from phospho_schemas import Topics

from ..engine.core import CoreEngine
from ..settings import WorkerSettings
from .app import build_app, fail_fast

__all__ = ["core_app"]


def core_app(settings: WorkerSettings, engine: CoreEngine | None = None) -> tuple[faust.App, CoreEngine]:
    """The core stage: one agent over the co-partitioned event topics and `core.points`."""
    app = build_app(settings, settings.app_id)
    topics = Topics(settings.topic_prefix)
    engine = engine or CoreEngine(settings)
    inputs = app.topic(*topics.event_topics(), topics.core_points, key_serializer="raw", value_serializer="raw")
    turn = asyncio.Lock()  # one engine call at a time: batches, the timer, rebalances
    batches: asyncio.Queue[tuple[int, Any, list[Any]]] = asyncio.Queue(maxsize=1)
    generation = 0  # bumped at each revocation: batches gathered before it are read again, not applied

    async def call(what: str, method: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(method, *args)
        except Exception as exc:  # noqa: BLE001 - any failure stops the stage unacknowledged
            fail_fast(f"core worker ({what})", exc)

    @app.task
    async def create_topics() -> None:
        async with turn:
            await call("creating topics", engine.ensure_topics)

    @app.agent(inputs)
    async def core(stream: Any) -> None:
        async for events in stream.take_events(settings.worker_batch_size, within=settings.worker_batch_seconds):
            for event in events:
                event.message.incref()  # released by `apply` once durable
            await batches.put((generation, stream, events))

    @app.task
    async def apply() -> None:
        while True:
            gen, stream, events = await batches.get()
            async with turn:
                if gen != generation:
                    continue  # revoked meanwhile: never acknowledged, the partitions' owner reads them again
                messages = [(m.topic, m.partition, m.offset, m.key, m.value) for m in (e.message for e in events)]
                await call("batch", engine.process, messages, int(time.time() * 1000))
            for event in events:
                await stream.ack(event)

    @app.timer(interval=settings.expire_every_seconds)
    async def expire() -> None:
        async with turn:
            await call("expiry", engine.expire)

    @app.on_partitions_revoked.connect
    async def revoked(app_: Any, revoked: set[Any], **_: Any) -> None:
        nonlocal generation
        async with turn:
            generation += 1
            while not batches.empty():
                batches.get_nowait()
            await call("rebalance", engine.drop, {tp.partition for tp in revoked if tp.topic in inputs.topics})

    return app, engine
