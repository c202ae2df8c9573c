"""Baseline E of benchmarks/pipeline.py: a stage's engine without faust. confluent-kafka reads the
stage's input topics (partitions assigned, from the beginning) in batches of the worker's size
(or what came within its batch wait) and hands each to the engine's `process`, as the worker's
agent does; the core's points come back through the same reading. An analysis record message
holds many tasks (a core batch's, for one partition): the analytics engine gets them in batches
of about the worker's batch size in tasks, so that the first batch (not counted) is not most of
the input already waiting. Settings come from the
PHOSPHO_* environment, as for `phospho-stream worker`.

    python _pipeline_engine.py core|analytics TASKS RESULT.json [CONFIG.yaml]

Times from the end of the first batch to the end of the batch that made the TASKS-th task's
row (the first batch's tasks not counted, as for the workers), and writes them to RESULT.json.
"""

from __future__ import annotations

import json
import sys
import time

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from phospho_schemas import Topics
from phospho_stream.config import load_config
from phospho_stream.engine.analytics import AnalyticsEngine
from phospho_stream.engine.collector import settle as settle_gc
from phospho_stream.engine.core import CoreEngine
from phospho_stream.settings import WorkerSettings


def tasks_in(stage: str, topics: Topics, messages: list[tuple]) -> int:
    """The tasks a batch brings: task events (core), analysis records of tasks (analytics)."""
    if stage == "core":
        return sum(1 for m in messages if m[0] == topics.tasks)
    return sum(1 for m in messages for r in orjson.loads(m[4]) if r.get("kind") == "task")


def batches(stage: str, topics: Topics, messages: list[tuple], size: int) -> list[tuple[list[tuple], int]]:
    """(messages, their tasks) as the engine gets them: at once (core), or cut after about `size`
    tasks (analytics)."""
    if stage == "core":
        return [(messages, tasks_in(stage, topics, messages))]
    out: list[tuple[list[tuple], int]] = []
    part: list[tuple] = []
    tasks = 0
    for message in messages:
        part.append(message)
        tasks += tasks_in(stage, topics, [message])
        if tasks >= size:
            out.append((part, tasks))
            part, tasks = [], 0
    if part:
        out.append((part, tasks))
    return out


def main(stage: str, expected: int, config_path: str | None) -> dict[str, float | int]:
    settings = WorkerSettings()
    topics = Topics(settings.topic_prefix)
    if stage == "core":
        engine: CoreEngine | AnalyticsEngine = CoreEngine(settings)
        inputs = list(topics.core_inputs())
    else:
        engine = AnalyticsEngine(settings, load_config(config_path), f"{settings.app_id}-analytics")
        engine.warm_up()  # as the worker does
        settle_gc()
        inputs = [topics.analysis_tasks]
    engine.ensure_topics()
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": settings.app_id, "log_level": 0,
                         "enable.auto.commit": False, "fetch.wait.max.ms": 50})
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in inputs for p in range(settings.topic_partitions)])
    done = first_tasks = 0
    first_end = 0.0
    deadline = time.monotonic() + 600
    while done < expected and time.monotonic() < deadline:
        batch = [(m.topic(), m.partition(), m.offset(), m.key(), m.value())
                 for m in consumer.consume(settings.worker_batch_size, settings.worker_batch_seconds) if not m.error()]
        if not batch:
            continue
        for part, tasks in batches(stage, topics, batch, settings.worker_batch_size):
            engine.process(part, int(time.time() * 1000))
            done += tasks
            if not first_end:
                first_end, first_tasks = time.time(), done
    end = time.time()
    consumer.close()
    engine.close()
    return {"tasks": done, "first_batch_tasks": first_tasks, "first_end": first_end, "seconds": end - first_end,
            "rate": (expected - first_tasks) / (end - first_end) if end > first_end else None}


if __name__ == "__main__":
    outcome = main(sys.argv[1], int(sys.argv[2]), sys.argv[4] if len(sys.argv) > 4 else None)
    with open(sys.argv[3], "w") as f:
        json.dump(outcome, f)
