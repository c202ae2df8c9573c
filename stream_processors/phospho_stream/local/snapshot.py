"""What the embedded broker holds, kept across a restart of `up`.

The embedded broker (Tansu, memory storage) forgets everything when it stops. When `up` stops,
after its workers and sink committed what they processed, `save` writes to the data directory
every record the next start needs: the stages' state changelogs (compacted: the last value of
each key) and, on every other topic, what its consumers had not committed yet (events that
arrived while the pipeline was stopping). `restore` produces them into the new broker before
the workers start; consumers of the new broker start from the beginning, so they process
exactly those. Nothing the broker acknowledged is lost across a clean stop.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from ..engine.topics import ensure_topics

__all__ = ["save", "restore", "SNAPSHOT_FILE"]

SNAPSHOT_FILE = "kafka-snapshot.jsonl"


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")


def _unb64(value: str | None) -> bytes | None:
    return None if value is None else base64.b64decode(value)


def _committed(bootstrap: str, groups: Iterable[str], parts: list[TopicPartition]) -> dict[tuple[str, int], int]:
    """The lowest offset any of `groups` committed on each partition (absent: none did)."""
    lowest: dict[tuple[str, int], int] = {}
    for group in groups:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
        try:
            for tp in consumer.committed(parts, timeout=10):
                if tp.offset >= 0:
                    key = (tp.topic, tp.partition)
                    lowest[key] = min(lowest.get(key, tp.offset), tp.offset)
        finally:
            consumer.close()
    return lowest


def _read(consumer: Consumer, parts: list[TopicPartition], timeout: float) -> Iterable[Any]:
    """Every record of `parts` from their offsets to their real end (by reading: the embedded
    broker's high watermark can stop short of its last record batch)."""
    consumer.assign(parts)
    left, deadline = {(tp.topic, tp.partition) for tp in parts}, time.monotonic() + timeout
    while left and time.monotonic() < deadline:
        for msg in consumer.consume(10_000, 0.5):
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    left.discard((msg.topic(), msg.partition()))
                continue
            yield msg
    if left:
        raise TimeoutError(f"reading the broker for its snapshot took over {timeout:.0f} s ({len(left)} partitions left)")


def save(bootstrap: str, data_dir: Path, groups: Iterable[str], timeout: float = 120.0) -> int:
    """Write the snapshot; returns the records kept."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"snapshot-{uuid.uuid4().hex}",
                         "enable.partition.eof": True, "enable.auto.commit": False, "log_level": 0})
    try:
        topics = [t for t in consumer.list_topics(timeout=10).topics if not t.startswith("__") and "-__" not in t]
        meta = consumer.list_topics(timeout=10).topics
        parts = [TopicPartition(t, p) for t in topics for p in meta[t].partitions]
        committed = _committed(bootstrap, groups, parts)
        starts = [TopicPartition(tp.topic, tp.partition, 0 if tp.topic.endswith("-state")
                                 else committed.get((tp.topic, tp.partition), OFFSET_BEGINNING)) for tp in parts]
        compacted: dict[tuple[str, int, bytes | None], dict[str, Any]] = {}
        kept: list[dict[str, Any]] = []
        for msg in _read(consumer, starts, timeout):
            record = {"t": msg.topic(), "p": msg.partition(), "k": _b64(msg.key()), "v": _b64(msg.value()),
                      "h": [[k, _b64(v)] for k, v in (msg.headers() or [])]}
            if msg.topic().endswith("-state"):  # a changelog: the last value of each key, tombstones dropped
                compacted[(msg.topic(), msg.partition(), msg.key())] = record
            else:
                kept.append(record)
    finally:
        consumer.close()
    states = [r for r in compacted.values() if r["v"]]
    path = data_dir / SNAPSHOT_FILE
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as out:
        for record in states + kept:
            out.write(json.dumps(record) + "\n")
    tmp.replace(path)
    return len(states) + len(kept)


def restore(bootstrap: str, data_dir: Path, partitions: int, timeout: float = 120.0) -> int:
    """Produce the snapshot's records into the (new) broker, creating the topics it misses, then
    retire the file; returns the records restored (0 without a snapshot)."""
    path = data_dir / SNAPSHOT_FILE
    if not path.exists():
        return 0
    with path.open() as records:
        topics = {json.loads(line)["t"] for line in records}
    ensure_topics(bootstrap, sorted(t for t in topics if not t.endswith("-state")), partitions)
    ensure_topics(bootstrap, sorted(t for t in topics if t.endswith("-state")), partitions,
                  config={"cleanup.policy": "compact"})
    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 0, "linger.ms": 20,
                         "message.max.bytes": 16 * 1024 * 1024, "enable.idempotence": True})
    count = 0
    with path.open() as records:
        for line in records:
            r = json.loads(line)
            headers = [(k, _unb64(v)) for k, v in r["h"]] or None
            while True:
                try:
                    producer.produce(r["t"], _unb64(r["v"]), _unb64(r["k"]), partition=r["p"], headers=headers)
                    break
                except BufferError:
                    producer.poll(0.1)
            count += 1
    if producer.flush(timeout):
        raise TimeoutError(f"the snapshot's records were not all acknowledged within {timeout:.0f} s; {path} is kept")
    path.rename(path.with_suffix(".restored"))
    return count
