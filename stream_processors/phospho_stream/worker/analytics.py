"""The analytics stage's faust agent (its own consumer group): batches of the core's analysis
records to the analytics engine, acknowledged once it made them durable; with
PHOSPHO_ANALYSIS_YIELD_LAG, each batch waits while the core stage is behind."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust

from phospho_schemas import Topics

from ..config import ProjectConfig
from ..engine.analytics import AnalyticsEngine
from ..engine.collector import settle as settle_gc
from ..engine.lag import CoreBehind
from ..settings import WorkerSettings
from .app import EngineCalls, batch_of, build_app

__all__ = ["analytics_app", "ANALYTICS_SUFFIX"]

#: the analytics stage's consumer group is the core's app id with this suffix
ANALYTICS_SUFFIX = "-analytics"


def analytics_app(settings: WorkerSettings, config: ProjectConfig) -> tuple[faust.App, AnalyticsEngine]:
    app_id = f"{settings.app_id}{ANALYTICS_SUFFIX}"
    app = build_app(settings, app_id)
    engine = AnalyticsEngine(settings, config, app_id)
    engine.warm_up()
    settle_gc()
    inputs = app.topic(Topics(settings.topic_prefix).analysis_tasks, key_serializer="raw", value_serializer="raw")
    call = EngineCalls("analytics")

    @app.task
    async def create_topics() -> None:
        await call("creating topics", engine.ensure_topics)

    core = (CoreBehind(settings.bootstrap, Topics(settings.topic_prefix), settings.app_id, settings.analysis_yield_lag)
            if settings.analysis_yield_lag else None)

    @app.agent(inputs)
    async def analytics(stream: Any) -> None:
        async for events in stream.take_events(settings.worker_batch_size, within=settings.worker_batch_seconds):
            if core is not None:
                await yield_to_core(core, settings.analysis_yield_seconds)
            await call("batch", engine.process, batch_of(events), int(time.time() * 1000))

    @app.on_partitions_revoked.connect
    async def revoked(app_: Any, revoked: set[Any], **_: Any) -> None:
        await call("rebalance", engine.drop, {tp.partition for tp in revoked if tp.topic in inputs.topics})

    return app, engine


async def yield_to_core(core: CoreBehind, longest: float) -> None:
    """Wait, up to `longest` seconds, while the core stage is behind (its offsets are read in a
    thread: a few broker round trips)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + longest
    while loop.time() < deadline and await loop.run_in_executor(None, core.behind):
        await asyncio.sleep(0.2)
