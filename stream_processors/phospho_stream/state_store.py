"""The worker's state: a dict per input partition in memory, made durable by a compacted
changelog topic written in bulk.

Why not a faust Table: a Table write costs ~150 us (one aiokafka record through faust's
machinery), and the worker changes about one key per event, which capped it near 1-2k
events/s. Here a batch's changed keys are produced with confluent-kafka (a few us per record)
and flushed before the agent hands the batch back, so faust commits input offsets only after
the state they produced is durable, as with a Table.

Layout: the changelog has the input topics' partition count; a key's record goes to the
partition its events came from (its owner reads exactly that partition back). After each
flush, one marker record per touched partition is flushed on its own: the embedded broker
(Tansu) reports a high watermark at its last record batch's first offset, and a marker alone in
the last batch makes the watermark exact, so recovery reads everything written.

The markers also delimit write groups: recovery remembers the keys of each partition's last
group (`last_written`), the keys whose rows a crash may have kept from going out (the worker
sends a batch's rows after its state, and the next state write only after those rows).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from ._acked_producer import AckedProducer
from ._errors import StateStoreError

__all__ = ["StateStore", "StateStoreError", "MARKER_KEY"]

MARKER_KEY = b"\x00phospho-marker"


class StateStore:
    def __init__(self, bootstrap: str, topic: str, partitions: int, *, encode: Callable[[Any], bytes] = pickle.dumps,
                 decode: Callable[[bytes], Any] = pickle.loads, replication: int = -1, flush_timeout: float = 60.0) -> None:
        self._encode, self._decode = encode, decode
        self.topic, self.partitions = topic, partitions
        self._bootstrap, self._replication = bootstrap, replication
        self._states: dict[int, dict[bytes, Any]] = {}  # loaded partitions only
        self._dirty: dict[int, set[bytes]] = {}
        self._last_written: dict[int, set[bytes]] = {}  # per recovered partition, until taken
        # lz4, not zstd: a key's whole state is written when it changes (kilobytes per event),
        # and zstd cost the engine ~10 us more CPU per task
        self._producer = AckedProducer({
            "bootstrap.servers": bootstrap, "linger.ms": 5, "compression.type": "lz4", "acks": "all",
            "message.max.bytes": 16 * 1024 * 1024}, StateStoreError, flush_timeout)

    # -- the topic -------------------------------------------------------------------------
    def ensure_topic(self) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self._bootstrap, "log_level": 3})
        wanted = NewTopic(self.topic, num_partitions=self.partitions, replication_factor=self._replication,
                          config={"cleanup.policy": "compact"})
        for future in admin.create_topics([wanted], operation_timeout=10).values():
            try:
                future.result(timeout=15)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise StateStoreError(f"cannot create the state changelog {self.topic}: {exc}") from exc

    # -- partitions ------------------------------------------------------------------------
    def loaded(self) -> list[int]:
        return list(self._states)

    def is_loaded(self, partition: int) -> bool:
        return partition in self._states

    def drop(self, partitions: set[int]) -> None:
        """Forget partitions this worker no longer owns (their new owner reads the changelog)."""
        for p in partitions:
            self._states.pop(p, None)
            self._dirty.pop(p, None)
            self._last_written.pop(p, None)

    def recover(self, partition: int, timeout: float = 120.0) -> int:
        """Read a partition's changelog up to its end into memory (blocking: run it in a thread).
        Returns the number of keys."""
        consumer = Consumer({"bootstrap.servers": self._bootstrap, "group.id": f"{self.topic}-recovery",
                             "enable.auto.commit": False, "log_level": 3, "fetch.max.bytes": 64 * 1024 * 1024})
        state: dict[bytes, Any] = {}
        group: set[bytes] = set()  # the keys written since the last marker
        last_group: set[bytes] = set()
        try:
            tp = TopicPartition(self.topic, partition)
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
            if high > low:
                consumer.assign([TopicPartition(self.topic, partition, OFFSET_BEGINNING)])
                last = low - 1
                deadline = time.monotonic() + timeout
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
                        if key == MARKER_KEY:
                            if group:
                                last_group, group = group, set()
                            continue
                        if key is None:
                            continue
                        group.add(key)
                        if value:
                            state[key] = value  # decoded when first used
                        else:
                            state.pop(key, None)
        except KafkaException as exc:
            raise StateStoreError(f"state recovery of {self.topic}[{partition}]: {exc}") from exc
        finally:
            consumer.close()
        self._states[partition] = state
        self._dirty.setdefault(partition, set())
        # records after the last marker: a write cut short, and the group before it had its rows sent
        self._last_written[partition] = {k for k in (group or last_group) if k in state}
        return len(state)

    def last_written(self, partition: int) -> set[bytes]:
        """The keys of the partition's last write group at recovery (once: then forgotten)."""
        return self._last_written.pop(partition, set())

    # -- keys ------------------------------------------------------------------------------
    def get(self, partition: int, key: bytes) -> Any:
        """The key's state object (None if unknown). The partition must be loaded."""
        states = self._states[partition]
        value = states.get(key)
        if isinstance(value, bytes):
            value = states[key] = self._decode(value)
        return value

    def put(self, partition: int, key: bytes, state: Any) -> None:
        self._states[partition][key] = state
        self._dirty[partition].add(key)

    def delete(self, partition: int, key: bytes) -> None:
        """Forget a key: gone from memory, and a tombstone in the changelog at the next flush."""
        if self._states[partition].pop(key, None) is not None:
            self._dirty[partition].add(key)

    def items(self, partition: int) -> list[tuple[bytes, Any]]:
        return [(key, self.get(partition, key)) for key in list(self._states.get(partition, ()))]

    # -- durability ------------------------------------------------------------------------
    def flush(self) -> int:
        """Write every changed key, then one marker per touched partition; blocks until the
        broker acknowledged all of it (run it in a thread). Returns the records written."""
        written = self.write()
        self.wait_markers()
        return written

    def write(self) -> int:
        """The first part of `flush`: the changed keys, acknowledged; their markers sent but not
        waited for (`wait_markers`), so that a caller's own sends can share that wait."""
        written, touched = 0, []
        for partition, keys in self._dirty.items():
            if not keys:
                continue
            states = self._states[partition]
            for key in keys:
                value = states.get(key)
                blob = value if isinstance(value, bytes) or value is None else self._encode(value)
                self._producer.produce(self.topic, blob, key, partition)
                written += 1
            keys.clear()
            touched.append(partition)
        if not touched:
            return 0
        self._producer.flush("state records")
        for partition in touched:
            self._producer.produce(self.topic, b"", MARKER_KEY, partition)
        return written

    def wait_markers(self) -> None:
        self._producer.flush("state markers")

    def close(self) -> None:
        self._producer.close()
