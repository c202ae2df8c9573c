"""Baseline A of benchmarks/pipeline.py: the core worker's faust app (`build_app`) and agent
reading (`take_events` with the worker's batch size and wait, on its four input topics), doing
nothing but count. Settings come from the PHOSPHO_* environment, as for `phospho-stream worker`.

    python _pipeline_noop.py EVENTS RESULT.json

When EVENTS have been counted it writes {"first_batch_at", "first_batch_events", "done_at",
"count"} (time.time()) to RESULT.json, and idles until it is stopped.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from phospho_schemas import Topics
from phospho_stream.settings import WorkerSettings
from phospho_stream.worker.app import build_app, run_app

expected, result_path = int(sys.argv[1]), sys.argv[2]
settings = WorkerSettings()
app = build_app(settings, settings.app_id)
topics = Topics(settings.topic_prefix)
inputs = app.topic(*topics.core_inputs(), key_serializer="raw", value_serializer="raw")
seen: dict[str, Any] = {"count": 0, "first_batch_at": None, "first_batch_events": 0}


@app.agent(inputs)
async def noop(stream: Any) -> None:
    async for events in stream.take_events(settings.worker_batch_size, within=settings.worker_batch_seconds):
        now = time.time()
        if seen["first_batch_at"] is None:
            seen.update(first_batch_at=now, first_batch_events=len(events))
        before, seen["count"] = seen["count"], seen["count"] + len(events)
        if before < expected <= seen["count"]:
            with open(result_path, "w") as f:
                json.dump({**seen, "done_at": now}, f)


if __name__ == "__main__":
    run_app(app)
