"""The evaluation stage's faust agent (its own consumer group): batches of the core's analysis
records to the evaluation engine, each message acknowledged only once the engine made its
results durable.

`noack_take` rather than `take_events`: take_events acknowledges a batch when its loop moves
on, even when the body was interrupted (the worker stopping mid-batch would commit tasks
never evaluated). Here an interrupted batch is never acknowledged, so it is read again; a
rebalance aborts the running batch (its answers are kept in the cache) instead of waiting for
calls that may wait hours for the endpoint or the next day's budget.
"""

from __future__ import annotations

import time
from typing import Any

import faust

from phospho_schemas import Topics

from ..config import ProjectConfig
from ..engine.evaluation import EvaluationEngine
from ..errors import BatchAborted
from ..settings import WorkerSettings
from .app import EngineCalls, batch_of, build_app

__all__ = ["evaluation_app", "EVALUATION_SUFFIX"]

#: the evaluation stage's consumer group is the core's app id with this suffix
EVALUATION_SUFFIX = "-evaluation"


def evaluation_app(settings: WorkerSettings, config: ProjectConfig) -> tuple[faust.App, EvaluationEngine]:
    app_id = f"{settings.app_id}{EVALUATION_SUFFIX}"
    app = build_app(settings, app_id)
    engine = EvaluationEngine(settings, config, app_id)
    inputs = app.topic(Topics(settings.topic_prefix).analysis_tasks, key_serializer="raw", value_serializer="raw")
    # a stopping worker stops the batch's calls (nothing is acknowledged); an aborted batch is read again
    call = EngineCalls("evaluation", passed=(BatchAborted,), on_cancel=engine.abort)

    @app.task
    async def start() -> None:
        await call("starting", engine.start)

    @app.agent(inputs)
    async def evaluation(stream: Any) -> None:
        async for events in stream.noack_take(settings.evaluation_batch_size, within=settings.worker_batch_seconds):
            try:
                await call("batch", engine.process, batch_of(events), int(time.time() * 1000))
            except BatchAborted:
                continue  # not acknowledged: the partitions' next owner (or this worker) reads it again
            for event in events:
                await stream.ack(event)

    @app.on_partitions_revoked.connect
    async def revoked(app_: Any, revoked: set[Any], **_: Any) -> None:
        engine.abort()  # at once, without waiting for the batch's turn
        await call("rebalance", engine.drop, {tp.partition for tp in revoked if tp.topic in inputs.topics})

    @app.on_partitions_assigned.connect
    async def assigned(app_: Any, assigned: set[Any], **_: Any) -> None:
        engine.assign({tp.partition for tp in assigned if tp.topic in inputs.topics})
        engine.resume()

    return app, engine
