"""The core stage's faust agent: batches of events and points to the core engine, acknowledged
once the engine made them durable.

The engine runs in a child process (`EngineProcess`), so faust's loop and the engine each have
a CPU, and the stage is a pipeline: the agent gathers a batch while the next one waits to be
sent and the engine works on the one before (in order). A message is acknowledged once its
batch's rows and state are durable: the agent holds a reference on it (`Message.incref`) that
`take_events` does not release, `acknowledge` does.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future
from typing import Any

import faust

from phospho_schemas import Topics

from ..config import ProjectConfig
from ..settings import WorkerSettings
from .app import batch_of, build_app, fail_fast
from .engine_process import EngineProcess

__all__ = ["core_app"]


def core_app(settings: WorkerSettings, config: ProjectConfig | None = None,
             engine: EngineProcess | None = None) -> tuple[faust.App, EngineProcess]:
    """The core stage: one agent over the co-partitioned event topics and `core.points`; the
    config's `privacy.redact` rules redact every event first (ConfigError: a hash rule without
    its salt, raised here, before any child starts)."""
    config = config or ProjectConfig()
    config.privacy.redactor()
    app = build_app(settings, settings.app_id)
    topics = Topics(settings.topic_prefix)
    engine = engine or EngineProcess(settings, config)
    inputs = app.topic(*topics.core_inputs(), key_serializer="raw", value_serializer="raw")
    turn = asyncio.Lock()  # what goes to the engine, in order: batches, the timer, rebalances
    gathered: asyncio.Queue[tuple[int, Any, list[Any]]] = asyncio.Queue(maxsize=1)
    sent: asyncio.Queue[tuple[Any, list[Any], Future[Any]]] = asyncio.Queue(maxsize=1)
    generation = 0  # bumped at each revocation: batches gathered before it are read again, not applied

    async def submit(method: str, *args: Any) -> Future[Any]:
        return await asyncio.to_thread(engine.submit, method, *args)  # blocks while the engine reads

    async def result(what: str, future: Future[Any]) -> Any:
        try:
            return await asyncio.wrap_future(future)
        except Exception as exc:  # noqa: BLE001 - any failure stops the stage unacknowledged
            fail_fast(f"core worker ({what})", exc)

    @app.task
    async def create_topics() -> None:
        async with turn:
            future = await submit("ensure_topics")
        await result("creating topics", future)

    @app.agent(inputs)
    async def core(stream: Any) -> None:
        async for events in stream.take_events(settings.worker_batch_size, within=settings.worker_batch_seconds):
            for event in events:
                event.message.incref()  # released by `acknowledge` once durable
            await gathered.put((generation, stream, events))

    @app.task
    async def send() -> None:
        while True:
            gen, stream, events = await gathered.get()
            async with turn:
                if gen != generation:
                    continue  # revoked meanwhile: never acknowledged, the partitions' owner reads them again
                future = await submit("process", batch_of(events), int(time.time() * 1000))
            await sent.put((stream, events, future))

    @app.task
    async def acknowledge() -> None:
        while True:
            stream, events, future = await sent.get()
            await result("batch", future)
            for event in events:
                await stream.ack(event)

    @app.timer(interval=settings.expire_every_seconds)
    async def expire() -> None:
        async with turn:
            future = await submit("expire")
        await result("expiry", future)

    @app.on_partitions_revoked.connect
    async def revoked(app_: Any, revoked: set[Any], **_: Any) -> None:
        nonlocal generation
        async with turn:
            generation += 1
            while not gathered.empty():
                gathered.get_nowait()
            future = await submit("drop", {tp.partition for tp in revoked if tp.topic in inputs.topics})
        await result("rebalance", future)  # after every batch sent before: their state is written

    return app, engine
