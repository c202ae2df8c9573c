"""Driving a stage engine over the real broker without faust: produce events, feed the engine
every message of its input topics until nothing new comes, then sink the rows into chDB."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from phospho_schemas import Topics
from phospho_sinks import SinkRunner


def produce(bootstrap: str, topics: Topics, events: list[tuple[str, str, bytes]]) -> None:
    """Events (kind, key, bytes) to their topics, keyed as the SDK keys them."""
    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 0, "partitioner": "murmur2_random"})
    for kind, key, value in events:
        producer.produce(topics.for_kind(kind), value, key.encode())
    assert producer.flush(10) == 0


class Feeder:
    """Reads a stage's input topics from the beginning and hands every new message to
    `process(messages)`, as the stage's faust agent would."""

    def __init__(self, bootstrap: str, inputs: list[str]) -> None:
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"feeder-{uuid.uuid4().hex}",
                                  "enable.auto.commit": False, "log_level": 0})
        parts = []
        for topic in inputs:
            meta = self.consumer.list_topics(topic, timeout=10)
            parts += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.topics[topic].partitions]
        self.consumer.assign(parts)

    def drain(self, process: Any, idle: float = 1.0, timeout: float = 60.0) -> int:
        """Feed batches until no message came for `idle` seconds; returns the messages fed."""
        fed, quiet_since, deadline = 0, time.monotonic(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = [m for m in self.consumer.consume(5000, 0.2) if not m.error()]
            if batch:
                process([(m.topic(), m.partition(), m.offset(), m.key(), m.value()) for m in batch])
                fed += len(batch)
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= idle:
                return fed
        raise AssertionError("the stage's input never went quiet")

    def close(self) -> None:
        self.consumer.close()


def sink_all(bootstrap: str, store: Any, topics: Topics, idle: float = 1.0, timeout: float = 60.0) -> SinkRunner:
    """Run a sink over the row topics until it wrote everything there is."""
    runner = SinkRunner(bootstrap, store, topics, group_id=f"sink-{uuid.uuid4().hex}")
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    deadline, last, since = time.monotonic() + timeout, 0, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        seen = runner.stats.messages_in
        if seen != last:
            last, since = seen, time.monotonic()
        elif seen and time.monotonic() - since >= idle and not runner.stats.paused and not len(runner._writer):
            break
    stop.set()
    thread.join(30)
    return runner
