"""The analytics stage's faust agent (its own consumer group): batches of the core's analysis
records to the analytics engine, acknowledged once it made them durable."""

from __future__ import annotations

import time
from typing import Any

import faust

from phospho_schemas import Topics

from ..config import ProjectConfig
from ..engine.analytics import AnalyticsEngine
from ..engine.collector import settle as settle_gc
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

    @app.agent(inputs)
    async def analytics(stream: Any) -> None:
        async for events in stream.take_events(settings.worker_batch_size, within=settings.worker_batch_seconds):
            await call("batch", engine.process, batch_of(events), int(time.time() * 1000))

    @app.on_partitions_revoked.connect
    async def revoked(app_: Any, revoked: set[Any], **_: Any) -> None:
        await call("rebalance", engine.drop, {tp.partition for tp in revoked if tp.topic in inputs.topics})

    return app, engine
