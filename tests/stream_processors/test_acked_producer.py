"""The worker's producer for state and rows: a flush that returns means every record was
acknowledged; a record the broker never took fails the flush, with the reason."""

from __future__ import annotations

import time
import uuid

import pytest

from phospho_stream._acked_producer import AckedProducer

pytestmark = pytest.mark.integration


class Failed(Exception):
    pass


def test_a_flush_returns_once_every_record_is_acknowledged(broker):
    from confluent_kafka import Consumer, TopicPartition

    topic = f"acked-{uuid.uuid4().hex[:8]}"
    broker.create_topics([topic])
    producer = AckedProducer({"bootstrap.servers": broker.bootstrap, "linger.ms": 50}, Failed)
    for i in range(1_000):
        producer.produce(topic, b"v%d" % i, b"k", 0)
    producer.flush("records")
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": topic, "log_level": 3})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got, deadline = [], time.monotonic() + 20
    while len(got) < 1_000 and time.monotonic() < deadline:
        got += [m.value() for m in consumer.consume(1_000, 0.5) if not m.error()]
    consumer.close()
    assert got == [b"v%d" % i for i in range(1_000)]


def test_a_record_that_failed_fails_the_flush_with_its_reason(tmp_path):
    """Only failed deliveries call back (delivery.report.only.error): they still reach flush."""
    from phospho_stream.broker import EmbeddedBroker

    with EmbeddedBroker(log_path=tmp_path / "broker.log") as gone:
        bootstrap = gone.bootstrap
    producer = AckedProducer({"bootstrap.servers": bootstrap, "message.timeout.ms": 1_000}, Failed, flush_timeout=20)
    producer.produce("rows", b"lost", b"k")
    with pytest.raises(Failed, match=r"rows not acknowledged \(0 pending\): .*timed out"):
        producer.flush("rows")
    producer.flush("nothing")  # the failure was reported once; nothing is left
