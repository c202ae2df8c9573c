"""Reading events back from the broker in tests (confluent-kafka consumer + EventDecoder)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from phospho_schemas import EventDecoder


def end_offsets(bootstrap: str, topic: str) -> int:
    """Sum of the partitions' high watermarks. Beware: the embedded Tansu broker reports a high
    watermark short of its last record batch, so count by reading (`consume`) for exactness."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"wm-{uuid.uuid4().hex}", "log_level": 0})
    try:
        meta = consumer.list_topics(topic, timeout=10)
        total = 0
        for p in meta.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


def topic_configs(bootstrap: str, names: list[str], keys: tuple[str, ...] = ("retention.ms", "cleanup.policy"),
                  ) -> dict[str, dict[str, str | None]]:
    """Each topic's settings of `keys` as the broker describes them (None: not described)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    out = {}
    for resource, future in admin.describe_configs([ConfigResource("topic", name) for name in names]).items():
        entries = future.result(timeout=15)
        out[resource.name] = {key: entries[key].value if key in entries else None for key in keys}
    return out


def consume(
    bootstrap: str,
    topics: list[str],
    until: Any = None,
    timeout: float = 30.0,
    decoder: EventDecoder | None = None,
) -> list[tuple[str, dict[str, Any], Any]]:
    """(kind, record, message) for every message of `topics` from the beginning, until
    `until(results)` is true or `timeout` passes (then returns what it has)."""
    decoder = decoder or EventDecoder()
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"test-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "log_level": 0,
    })
    # assign (no consumer group to join: faster and independent of the broker's group code)
    partitions = []
    for topic in topics:
        meta = consumer.list_topics(topic, timeout=10)
        partitions += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.topics[topic].partitions]
    consumer.assign(partitions)
    out: list[tuple[str, dict[str, Any], Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for msg in consumer.consume(10_000, 0.5):
                if msg.error():
                    continue
                kind, record = decoder.decode(msg.value())
                out.append((kind, record, msg))
            if until is not None and until(out):
                break
    finally:
        consumer.close()
    return out


def consume_raw(bootstrap: str, topic: str, until: Any = None, timeout: float = 90.0) -> list[Any]:
    """Every message of a topic that holds no phospho events (row JSON, dead letters), from the
    beginning, until `until(messages)` is true or `timeout` passes."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4().hex}", "log_level": 0})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not (until is not None and until(got)):
            got += [m for m in consumer.consume(1000, 0.5) if not m.error()]
    finally:
        consumer.close()
    return got


def json_rows(messages: list[Any]) -> list[dict[str, Any]]:
    """The rows of row-topic messages (JSONEachRow: one JSON object per line) and of the
    records between stages (a JSON array of objects)."""
    import json

    rows: list[dict[str, Any]] = []
    for msg in messages:
        value = msg.value()
        if value.startswith(b"["):
            rows += json.loads(value)
        else:
            rows += [json.loads(line) for line in value.splitlines() if line.strip()]
    return rows


def task_ids_written(messages: list[Any]) -> set[str]:
    """The tasks whose own row (not only a partial one) is among these task-row messages."""
    return {r["task_id"] for r in json_rows(messages) if "input" in r}


def wait_quiet(bootstrap: str, topics: list[str], quiet: float = 3.0, timeout: float = 120.0) -> int:
    """Until no new message came to `topics` for `quiet` seconds; returns the messages seen."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"quiet-{uuid.uuid4().hex}", "log_level": 0})
    parts = [TopicPartition(t, p, OFFSET_BEGINNING) for t in topics
             for p in consumer.list_topics(t, timeout=10).topics[t].partitions]
    consumer.assign(parts)
    seen, since, deadline = 0, time.monotonic(), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            got = [m for m in consumer.consume(10_000, 0.3) if not m.error()]
            if got:
                seen += len(got)
                since = time.monotonic()
            elif time.monotonic() - since >= quiet:
                return seen
    finally:
        consumer.close()
    raise AssertionError(f"{topics} never went quiet within {timeout} s")
