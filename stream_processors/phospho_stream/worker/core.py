"""The core stage's faust agent: batches of events and points to the core engine, acknowledged
once the engine made them durable."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust

from phospho_schemas import Topics

from ..config import ProjectConfig
from ..engine.core import CoreEngine
from ..settings import WorkerSettings
from .app import build_app, fail_fast

__all__ = ["core_app"]


def core_app(settings: WorkerSettings, config: ProjectConfig | None = None,
             engine: CoreEngine | None = None) -> tuple[faust.App, CoreEngine]:
    """The core stage: one agent over the co-partitioned event topics and `core.points`; the
    config's `privacy.redact` rules redact every event first (ConfigError: a hash rule without
    its salt)."""
    app = build_app(settings, settings.app_id)
    topics = Topics(settings.topic_prefix)
    privacy = (config or ProjectConfig()).privacy
    engine = engine or CoreEngine(settings, privacy.redactor(), privacy.retention.topic_ms)
    inputs = app.topic(*topics.event_topics(), topics.core_points, key_serializer="raw", value_serializer="raw")
    turn = asyncio.Lock()  # one engine call at a time: batches, the timer, rebalances

    async def call(what: str, method: Any, *args: Any) -> Any:
        async with turn:
            try:
                return await asyncio.to_thread(method, *args)
            except Exception as exc:  # noqa: BLE001 - any failure stops the stage unacknowledged
                fail_fast(f"core worker ({what})", exc)

    @app.task
    async def create_topics() -> None:
        await call("creating topics", engine.ensure_topics)

    @app.agent(inputs)
    async def core(stream: Any) -> None:
        async for events in stream.take_events(settings.worker_batch_size, within=settings.worker_batch_seconds):
            messages = [(m.topic, m.partition, m.offset, m.key, m.value) for m in (e.message for e in events)]
            await call("batch", engine.process, messages, int(time.time() * 1000))

    @app.timer(interval=settings.expire_every_seconds)
    async def expire() -> None:
        await call("expiry", engine.expire)

    @app.on_partitions_revoked.connect
    async def revoked(app_: Any, revoked: set[Any], **_: Any) -> None:
        await call("rebalance", engine.drop, {tp.partition for tp in revoked if tp.topic in inputs.topics})

    return app, engine
