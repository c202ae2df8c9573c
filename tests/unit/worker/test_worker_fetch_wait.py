"""A worker's faust consumer fetches with PHOSPHO_WORKER_FETCH_WAIT_SECONDS, not faust's fixed
1.5 s (on the embedded broker every fetch takes that long: it was most of the core's latency).
Fails first when a faust or aiokafka upgrade moves where the wait is kept."""

from __future__ import annotations

import asyncio

from phospho_stream.settings import WorkerSettings
from phospho_stream.worker.app import build_app
from phospho_stream.worker.transport import FetchWaitTransport


def test_the_worker_consumer_is_made_with_the_fetch_wait_of_the_settings(tmp_path):
    app = build_app(WorkerSettings(data_dir=tmp_path, worker_fetch_wait_seconds=0.25), "fetch-wait-test")
    assert isinstance(app.transport, FetchWaitTransport)

    async def made() -> int:
        consumer = app.consumer._thread._create_consumer(asyncio.get_running_loop())
        try:
            return consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    assert asyncio.run(made()) == 250

