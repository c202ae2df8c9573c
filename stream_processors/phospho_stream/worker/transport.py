"""faust's aiokafka transport with the consumer's fetch wait as a setting (faust fixes it at 1.5 s).

A fetch waits up to that long for data; the embedded broker (Tansu) answers every fetch only
after half of it (or all of it, under 250 ms), data or not, so on that broker the wait is the
core stage's latency. A real Kafka answers as soon as data comes; a short wait there costs only
a few more empty fetches while the topics are idle.
"""

from __future__ import annotations

from typing import Any

import aiokafka
from faust.transport.drivers import aiokafka as driver

from ..errors import PhosphoStreamError

__all__ = ["FetchWaitTransport"]


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise PhosphoStreamError(f"aiokafka {aiokafka.__version__} keeps no fetch wait where phospho-stream sets it: "
                              "install the aiokafka version pyproject.toml pins")
        # aiokafka's constructor argument, read when the consumer starts and makes its fetcher
        consumer._fetch_max_wait_ms = transport.fetch_wait_ms
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class FetchWaitTransport(driver.Transport):
    """`app.transport = FetchWaitTransport(app.conf.broker_consumer, app, fetch_wait_ms=100)`,
    before any agent or topic is declared (they build the App's transport)."""

    Consumer = _Consumer

    def __init__(self, url: Any, app: Any, *, fetch_wait_ms: int, **kwargs: Any) -> None:
        super().__init__(url, app, **kwargs)
        self.fetch_wait_ms = fetch_wait_ms
