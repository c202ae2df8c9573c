"""Baseline A of benchmarks/pipeline.py: a faust agent that does nothing.

The same faust App settings as phospho_stream.worker.build_app (raw serializers, memory store,
session timeout 6 s, ...), the same input topics, and the worker's way of reading them: events
with manual acks, gathered into batches of PHOSPHO_WORKER_BATCH_SIZE (the worker's default,
4,000) or what came within 0.5 s, each batch acknowledged after it was "processed". Here
processing is counting. When the count reaches N it writes
{"first_batch_at", "first_batch_events", "done_at", "count"} (time.time()) to RESULT and keeps
idling until the harness stops it.

With PHOSPHO_NOOP_CONSUMER=worker, the agent runs on the worker's faust consumer
(`phospho_stream.worker.app_class`: faust's fetch loop without its four tasks per message),
not faust's own: baseline A' of the benchmark.

    python _pipeline_faust_noop.py BOOTSTRAP PREFIX APP_ID N RESULT
"""

from __future__ import annotations

import json
import os
import sys
import time

import faust

from phospho_schemas import Topics
from phospho_stream.settings import WorkerSettings
from phospho_stream.worker import app_class

bootstrap, prefix, app_id, n, result_path = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
settings = WorkerSettings.from_env(bootstrap)
topics = Topics(prefix)
App = app_class(settings) if os.environ.get("PHOSPHO_NOOP_CONSUMER") == "worker" else faust.App
app = App(
    app_id, broker=f"kafka://{bootstrap}", value_serializer="raw", key_serializer="raw", store="memory://",
    web_enabled=False, topic_partitions=4, consumer_auto_offset_reset="earliest", broker_session_timeout=6,
    broker_rebalance_timeout=6, broker_heartbeat_interval=1, stream_wait_empty=False, worker_redirect_stdouts=False,
)
inputs = app.topic(topics.tasks, topics.spans, topics.feedback, key_serializer="raw", value_serializer="raw")
state = {"count": 0, "first_batch_at": None, "first_batch_events": 0, "done": False}
pending: dict = {"events": [], "started": 0.0, "stream": None}


async def processed(events: list) -> None:
    now = time.time()
    if state["first_batch_at"] is None:
        state["first_batch_at"], state["first_batch_events"] = now, len(events)
    state["count"] += len(events)
    for event in events:
        await pending["stream"].ack(event)
    if state["count"] >= n and not state["done"]:
        state["done"] = True
        with open(result_path, "w") as f:
            json.dump({**state, "done_at": now}, f)


async def dispatch() -> None:
    events, pending["events"] = pending["events"], []
    if events:
        await processed(events)


@app.agent(inputs)
async def noop(stream):  # noqa: ANN001
    manual = pending["stream"] = stream.noack()
    async for event in manual.events():
        if not pending["events"]:
            pending["started"] = time.monotonic()
        pending["events"].append(event)
        if len(pending["events"]) >= settings.batch_size:
            await dispatch()


@app.timer(interval=0.1)
async def dispatch_due() -> None:
    if pending["events"] and time.monotonic() - pending["started"] >= settings.batch_seconds:
        await dispatch()


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "--quiet", "worker", "-l", "warn", "--without-web"]
    app.main()
