"""`phospho-stream demo`: the demo traffic (demo_traffic.py) through the real phospho SDK into
Kafka, read back. With no Kafka address configured it starts the embedded broker."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from phospho_schemas import EventDecoder, Topics

from ..engine.registry import registry_from_env
from .broker import EmbeddedBroker
from .demo_traffic import VERSIONS, generate_traffic

__all__ = ["run_demo"]

def _consumer(bootstrap: str) -> Any:
    from confluent_kafka import Consumer

    return Consumer({"bootstrap.servers": bootstrap, "group.id": f"demo-{uuid.uuid4().hex}",
                     "enable.auto.commit": False, "log_level": 0})


def _end_offsets(bootstrap: str, topics: list[str]) -> list[Any]:
    """Where each partition ends now: the demo reads its own events from there."""
    from confluent_kafka import TopicPartition

    consumer = _consumer(bootstrap)
    try:
        out = []
        for topic in topics:
            for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                out.append(TopicPartition(topic, p, max(low, high - 1)))  # Tansu may under-report by a batch
        return out
    finally:
        consumer.close()


def _read_back(bootstrap: str, start: list[Any], expected: int, timeout: float = 60.0) -> list[tuple[str, dict[str, Any]]]:
    """This run's events: the demo's tasks and the feedback on them."""
    consumer = _consumer(bootstrap)
    consumer.assign(start)
    decoder, deadline = EventDecoder(registry=registry_from_env()), time.monotonic() + timeout
    tasks: dict[str, dict[str, Any]] = {}
    feedback: list[dict[str, Any]] = []
    while len(tasks) + len(feedback) < expected and time.monotonic() < deadline:
        for msg in consumer.consume(5_000, 0.5):
            if msg.error():
                continue
            kind, record = decoder.decode(msg.value())
            if kind == "task" and record["version_id"] in VERSIONS:
                tasks[record["event_id"]] = record
            elif kind == "feedback":
                feedback.append(record)
        ours = {t["task_id"] for t in tasks.values()}
        feedback = [f for f in feedback if f["task_id"] in ours]
    consumer.close()
    return [("task", t) for t in tasks.values()] + [("feedback", f) for f in feedback]


def run_demo(events: int = 200) -> int:
    import phospho

    bootstrap = os.environ.get("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    data_dir = Path(os.environ.get("PHOSPHO_DATA_DIR", ".phospho"))
    broker = None
    if not bootstrap:
        broker = EmbeddedBroker(topic_prefix=os.environ.get("PHOSPHO_TOPIC_PREFIX") or "phospho.")
        bootstrap = broker.start()
        print(f"embedded Kafka-protocol broker (Tansu) on {bootstrap}")
    try:
        topics = Topics(os.environ.get("PHOSPHO_TOPIC_PREFIX") or "phospho.")
        start = _end_offsets(bootstrap, [topics.tasks, topics.feedback])
        phospho.init(project_id=os.environ.get("PHOSPHO_PROJECT_ID", "demo-project"), bootstrap_servers=bootstrap,
                     spool_dir=os.environ.get("PHOSPHO_SPOOL_DIR", str(data_dir / "spool")))
        started = time.perf_counter()
        counts = generate_traffic(phospho, events, seed=int(time.time()))  # a run of its own: ids of its own
        delivered = phospho.flush(60)
        elapsed = time.perf_counter() - started
        stats = phospho.stats()
        print(f"logged {counts['tasks']} tasks ({counts['malformed']} malformed) and {counts.get('feedback', 0)} "
              f"feedback events in {elapsed:.2f}s; flush delivered everything: {delivered}")
        print("SDK counters:", json.dumps({k: stats[k] for k in ("queued", "delivered", "spooled", "failed")}))
        records = _read_back(bootstrap, start, counts["tasks"] + counts.get("feedback", 0))
        kinds = Counter(kind for kind, _ in records)
        tasks = [r for kind, r in records if kind == "task"]
        print(f"read back from Kafka: {dict(kinds)}")
        print(f"{'user':22} {'tasks':>5} {'sessions':>8} {'streamed':>8} {'tokens':>6}")
        for user in sorted({t["user_id"] for t in tasks}):
            mine = [t for t in tasks if t["user_id"] == user]
            print(f"{user:22} {len(mine):5d} {len({t['session_id'] for t in mine}):8d} "
                  f"{sum(t['stream'] for t in mine):8d} {sum(t['total_tokens'] or 0 for t in mine):6d}")
        coerced = [t for t in tasks if t["errors"]]
        print(f"{len(coerced)} tasks carry coercion notes, e.g.: {coerced[0]['errors'][:2] if coerced else []}")
        ok = (delivered and stats["failed"] == 0 and len(tasks) == counts["tasks"]
              and kinds["feedback"] == counts.get("feedback", 0))
        print("demo OK" if ok else "demo FAILED: not every event arrived")
        return 0 if ok else 1
    finally:
        phospho.shutdown(5)
        if broker is not None:
            broker.stop()
