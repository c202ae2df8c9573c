"""A stage's durable state: one record per changed entity in a compacted changelog topic.

The changelog has the input topics' partition count; an entity's record goes to the partition
of the input it came from, whose owner reads exactly that partition back (`recover`). A batch
writes only the entities it changed (a task's facts, a task's place in its session), so a change
costs what it changes, whatever the size of a session or a user. Values are bytes the stage
encodes (JSON): nothing in them is executed when read. An empty value is a tombstone.

After each write, one marker record per touched partition goes out on its own: the embedded
broker (Tansu) reports a high watermark at its last record batch's first offset, and a marker
alone in the last batch makes the watermark exact, so recovery reads everything written.
"""

from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from ..errors import StateStoreError
from .acked_producer import AckedProducer
from .topics import ensure_topics

__all__ = ["StateStore", "MARKER_KEY"]

MARKER_KEY = b"\x00phospho-marker"


class StateStore:
    def __init__(self, bootstrap: str, topic: str, partitions: int, replication: int = -1,
                 flush_timeout: float = 60.0) -> None:
        self.topic, self.partitions = topic, partitions
        self._bootstrap, self._replication = bootstrap, replication
        self._pending: dict[int, dict[bytes, bytes]] = {}
        self._producer = AckedProducer({"bootstrap.servers": bootstrap, "linger.ms": 5, "compression.type": "lz4",
                                        "acks": "all", "message.max.bytes": 16 * 1024 * 1024},
                                       StateStoreError, flush_timeout)

    def ensure_topic(self) -> None:
        ensure_topics(self._bootstrap, [self.topic], self.partitions, self._replication,
                      {"cleanup.policy": "compact"}, StateStoreError)

    def recover(self, partition: int, timeout: float = 120.0) -> dict[bytes, bytes]:
        """A partition's entities as last written (blocking: run it in a thread)."""
        consumer = Consumer({"bootstrap.servers": self._bootstrap, "group.id": f"{self.topic}-recovery",
                             "enable.auto.commit": False, "log_level": 3, "fetch.max.bytes": 64 * 1024 * 1024})
        state: dict[bytes, bytes] = {}
        try:
            tp = TopicPartition(self.topic, partition)
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
            if high > low:
                consumer.assign([TopicPartition(self.topic, partition, OFFSET_BEGINNING)])
                last, deadline = low - 1, time.monotonic() + timeout
                while last < high - 1:
                    if time.monotonic() > deadline:
                        raise StateStoreError(f"state recovery of {self.topic}[{partition}] stuck at {last} < {high - 1}")
                    for msg in consumer.consume(10_000, timeout=0.5):
                        if msg.error():
                            if msg.error().code() == KafkaError._PARTITION_EOF:
                                continue
                            raise StateStoreError(f"state recovery of {self.topic}[{partition}]: {msg.error()}")
                        last = msg.offset()
                        key, value = msg.key(), msg.value()
                        if key is None or key == MARKER_KEY:
                            continue
                        if value:
                            state[key] = value
                        else:
                            state.pop(key, None)
        except KafkaException as exc:
            raise StateStoreError(f"state recovery of {self.topic}[{partition}]: {exc}") from exc
        finally:
            consumer.close()
        return state

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        """Write `value` (b"" forgets the entity) at the next `write`."""
        self._pending.setdefault(partition, {})[key] = value

    def write(self) -> int:
        """Every pending record, then one marker per touched partition; blocks until the broker
        acknowledged all of it. Returns the records written."""
        written = 0
        for partition, records in self._pending.items():
            for key, value in records.items():
                self._producer.produce(self.topic, value, key, partition)
            written += len(records)
        if not written:
            return 0
        self._producer.flush("state records")
        for partition in self._pending:
            self._producer.produce(self.topic, b"", MARKER_KEY, partition)
        self._producer.flush("state markers")
        self._pending.clear()
        return written

    def discard(self, partitions: set[int]) -> None:
        """Forget what was not written for partitions this worker no longer owns."""
        for partition in partitions:
            self._pending.pop(partition, None)

    def close(self) -> None:
        self._producer.close()
