"""On one machine the analytics stage waits while the core stage is behind: CoreBehind reads the
core group's committed offsets against the input's end, and yield_to_core waits on it, never
longer than it is told."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from phospho_schemas import Topics
from phospho_stream.engine.lag import CoreBehind, lag
from phospho_stream.worker.analytics import yield_to_core

pytestmark = pytest.mark.integration


@pytest.fixture()
def backlog(broker):
    """200 input events on the tasks topic, none committed by the core group `group`."""
    topics, group = Topics(f"y{uuid.uuid4().hex[:8]}."), f"core-{uuid.uuid4().hex[:8]}"
    broker.create_topics(topics.all())
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "batch.size": 1, "log_level": 0})
    for i in range(200):
        producer.produce(topics.tasks, key=f"t{i}".encode(), value=b"x")
    assert producer.flush(30) == 0
    return broker, topics, group


def commit_everything(bootstrap: str, topics: Topics, group: str) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
    meta = consumer.list_topics(topics.tasks, timeout=10).topics[topics.tasks]
    ends = [TopicPartition(topics.tasks, p, consumer.get_watermark_offsets(TopicPartition(topics.tasks, p), timeout=10)[1])
            for p in meta.partitions]
    consumer.commit(offsets=ends, asynchronous=False)
    consumer.close()


def test_behind_while_the_core_has_more_than_the_threshold_not_committed(backlog):
    broker, topics, group = backlog
    total = lag(Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "log_level": 0}),
                [topics.tasks])[0]
    assert total >= 190  # the embedded broker's watermark can be short by a batch
    behind, within = (CoreBehind(broker.bootstrap, topics, group, threshold, every=0) for threshold in (100, 10_000))
    try:
        assert behind.behind() and not within.behind()
        commit_everything(broker.bootstrap, topics, group)
        assert not behind.behind()
    finally:
        behind.close()
        within.close()


def test_yield_to_core_waits_while_behind_and_no_longer_than_told(backlog):
    broker, topics, group = backlog
    gate = CoreBehind(broker.bootstrap, topics, group, threshold=100, every=0)
    try:
        started = time.monotonic()
        asyncio.run(yield_to_core(gate, 1.0))
        assert 1.0 <= time.monotonic() - started < 5  # behind all along: it waited the longest it may, then went on
        commit_everything(broker.bootstrap, topics, group)
        started = time.monotonic()
        asyncio.run(yield_to_core(gate, 10.0))
        assert time.monotonic() - started < 2  # caught up: no wait
    finally:
        gate.close()


def test_a_broker_that_does_not_answer_is_no_reason_to_wait():
    gate = CoreBehind("127.0.0.1:1", Topics("nobody."), "core", threshold=0, every=0)
    try:
        assert not gate.behind()
    finally:
        gate.close()
