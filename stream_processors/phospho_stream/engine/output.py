"""What a stage sends for a batch, gathered then produced in one go and acknowledged.

- rows for the sink: JSONEachRow messages on `Topics.rows(table)`, at the partition of the
  input that made them (so that one writer's rows of an id stay in order);
- records for another stage: JSON arrays at the partition of their key (`partition_of`);
- dead letters: the event's bytes (cut to DEAD_LETTER_BYTES) with the reason in headers.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from typing import Any

import orjson

from phospho_schemas import Topics

from ..errors import EngineError
from .acked_producer import AckedProducer

__all__ = ["Output", "partition_of", "MESSAGE_BYTES", "MAX_REQUEST_BYTES", "DEAD_LETTER_BYTES"]

#: bytes of rows or records per message; a single larger row goes alone (up to MAX_REQUEST_BYTES)
MESSAGE_BYTES = 512 * 1024
MAX_REQUEST_BYTES = 8 * 1024 * 1024
#: a dead letter keeps at most this much of its event's key and of its value: an input message
#: too large to send again whole would otherwise stop the stage at every restart
DEAD_LETTER_BYTES = 512 * 1024


def partition_of(key: str, partitions: int) -> int:
    """The partition of a key on the topics between stages (CRC-32: stable across processes)."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % partitions


def _chunks(items: list[bytes], separator: bytes, budget: int) -> list[bytes]:
    messages, run, size = [], [], 0
    for item in items:
        if run and size + len(item) > budget:
            messages.append(separator.join(run))
            run, size = [], 0
        run.append(item)
        size += len(item) + 1
    if run:
        messages.append(separator.join(run))
    return messages


class Output:
    def __init__(self, bootstrap: str, topics: Topics, batch_bytes: int = 16_384) -> None:
        self.topics = topics
        self._producer = AckedProducer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all",
                                        "batch.size": max(1, batch_bytes), "message.max.bytes": MAX_REQUEST_BYTES},
                                       EngineError)
        self._rows: dict[tuple[str, int], list[bytes]] = defaultdict(list)
        self._records: dict[tuple[str, int], list[bytes]] = defaultdict(list)
        self.rows_sent = 0

    def row(self, table: str, partition: int, row: dict[str, Any]) -> None:
        self._rows[(table, partition)].append(orjson.dumps(row))

    def record(self, topic: str, partition: int, record: dict[str, Any]) -> None:
        self._records[(topic, partition)].append(orjson.dumps(record))

    def dead_letter(self, reason: str, topic: str, partition: int, offset: int, key: bytes | None,
                    value: bytes | None) -> None:
        headers = {"source_topic": topic.encode(), "source_partition": str(partition).encode(),
                   "source_offset": str(offset).encode()}
        value = value or b""
        for name, part in (("key", key), ("value", value)):
            if part is not None and len(part) > DEAD_LETTER_BYTES:
                headers[f"{name}_bytes"] = str(len(part)).encode()
                reason += f" ({name} cut to its first {DEAD_LETTER_BYTES} of {len(part)} bytes)"
        headers["reason"] = reason.encode()
        self._producer.produce(self.topics.dead_letters, value[:DEAD_LETTER_BYTES],
                               key[:DEAD_LETTER_BYTES] if key is not None else None, headers=headers)

    def send(self) -> int:
        """Produce everything gathered and wait for the broker's acknowledgement. Returns the
        rows sent."""
        rows = 0
        for (table, partition), items in self._rows.items():
            topic = self.topics.rows(table)
            for message in _chunks(items, b"\n", MESSAGE_BYTES):
                self._producer.produce(topic, message, None, partition)
            rows += len(items)
        for (topic, partition), items in self._records.items():
            for message in _chunks(items, b",", MESSAGE_BYTES - 2):
                self._producer.produce(topic, b"[" + message + b"]", None, partition)
        self._rows.clear()
        self._records.clear()
        self._producer.flush("rows")
        self.rows_sent += rows
        return rows

    def close(self) -> None:
        self._producer.close()
