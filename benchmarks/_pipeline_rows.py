"""Watching a worker's output in benchmarks/pipeline.py: a thread reads `<prefix>rows.tasks` from
the beginning and counts the distinct task ids of the rows a stage wrote, by the Kafka
timestamps of the messages (set by the worker's producer), so the harness's own reading speed
does not enter the figures. The embedded broker's high watermark stops short of its last record
batch: rows are counted by reading, never from end offsets."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

__all__ = ["RowCounter", "RowClock", "read_topic", "core_row", "analytics_row", "any_row"]


def core_row(row: dict[str, Any]) -> bool:
    """The core's task row (a task's own columns), not a partial row of its window or spans."""
    return "event_id" in row


def analytics_row(row: dict[str, Any]) -> bool:
    return "analytics_version" in row


def any_row(row: dict[str, Any]) -> bool:
    return True


def _rows(value: bytes) -> list[dict[str, Any]]:
    """JSONEachRow (today's workers) or a JSON array (the workers before storage v3)."""
    if value[:1] == b"[":
        return orjson.loads(value)
    return [orjson.loads(line) for line in value.split(b"\n") if line]


class RowCounter(threading.Thread):
    """`RowCounter(bootstrap, topic, expected, wanted, since_ms).start()`; `done` is set once
    `expected` distinct task ids of rows for which `wanted(row)` is true were seen in messages
    stamped at or after `since_ms`. Each task id keeps the timestamp of its first message."""

    #: messages stamped within this long of the first are the first batch's output
    FIRST_BATCH_MS = 100

    def __init__(self, bootstrap: str, topic: str, expected: int, wanted: Callable[[dict[str, Any]], bool],
                 since_ms: int = 0) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.expected, self.wanted, self.since_ms = bootstrap, topic, expected, wanted, since_ms
        self.first_ms: dict[str, int] = {}
        self.rows = 0
        self.done = threading.Event()
        self.error: str | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"bench-watch-{uuid.uuid4().hex}",
                             "enable.auto.commit": False, "log_level": 0, "fetch.wait.max.ms": 50})
        try:
            partitions = consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
            while not self._halt.is_set() and not self.done.is_set():
                for msg in consumer.consume(2_000, 0.1):
                    if not msg.error() and msg.timestamp()[1] >= self.since_ms:
                        self._count(msg.timestamp()[1], _rows(msg.value()))
        except Exception as exc:  # noqa: BLE001 - reported by the harness
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            consumer.close()

    def _count(self, ts_ms: int, rows: list[dict[str, Any]]) -> None:
        seen = self.first_ms
        for row in rows:
            if self.wanted(row):
                self.rows += 1
                task_id = row["task_id"]
                if ts_ms < seen.get(task_id, ts_ms + 1):
                    seen[task_id] = ts_ms
        if len(seen) >= self.expected:
            self.done.set()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)

    def figures(self) -> dict[str, Any]:
        """rate: tasks per second from the first message to the one completing `expected`, the
        first batch's tasks not counted (the time before them is start-up and group join);
        None when one batch held them all."""
        stamps = sorted(self.first_ms.values())
        if len(stamps) < self.expected:
            return {"tasks": len(stamps), "rate": None}
        first, complete = stamps[0], stamps[self.expected - 1]
        in_first = sum(1 for t in stamps if t <= first + self.FIRST_BATCH_MS)
        seconds = (complete - first) / 1000
        return {"tasks": len(stamps), "rows": self.rows, "first_ms": first, "complete_ms": complete,
                "first_batch_tasks": in_first, "seconds": seconds,
                "rate": (self.expected - in_first) / seconds if in_first < self.expected and seconds > 0 else None}


class RowClock(threading.Thread):
    """The Kafka timestamp at which `expected` occurrences of `marker` (e.g. b'"event_id"', which
    only the core's own task rows hold) were written to `topic` since `since_ms`: the time a
    worker had produced every row, without parsing them (the reader shares a process with the
    sink it must not slow down). A JSON string cannot hold the marker unescaped."""

    def __init__(self, bootstrap: str, topic: str, marker: bytes, expected: int, since_ms: int) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.marker, self.expected, self.since_ms = bootstrap, topic, marker, expected, since_ms
        self.seen = 0
        self.done_ms: int | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"bench-clock-{uuid.uuid4().hex}",
                             "enable.auto.commit": False, "log_level": 0, "fetch.wait.max.ms": 50})
        try:
            partitions = consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
            stamps: list[int] = []
            while not self._halt.is_set() and self.done_ms is None:
                for msg in consumer.consume(2_000, 0.1):
                    if not msg.error() and msg.timestamp()[1] >= self.since_ms:
                        stamps += [msg.timestamp()[1]] * msg.value().count(self.marker)
                if len(stamps) >= self.expected:
                    self.done_ms = sorted(stamps)[self.expected - 1]
                self.seen = len(stamps)
        finally:
            consumer.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


def read_topic(bootstrap: str, topic: str, idle: float = 1.0) -> list[tuple[int, bytes]]:
    """(timestamp ms, value) of every message of `topic`, read until nothing came for `idle` s."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-read-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "log_level": 0, "fetch.wait.max.ms": 50})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        out: list[tuple[int, bytes]] = []
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < idle:
            messages = [m for m in consumer.consume(5_000, 0.2) if not m.error()]
            if messages:
                quiet_since = time.monotonic()
                out += [(m.timestamp()[1], m.value() or b"") for m in messages]
        return out
    finally:
        consumer.close()
