"""Baseline B of benchmarks/pipeline.py, the floor of the core path in one process:
confluent-kafka reads the tasks topic (partitions assigned, no group), `EventDecoder` decodes
each event, `task_row` makes the row the core writes for it (phospho_stream.rules.joins), and
chDB inserts them as JSONEachRow, 10,000 rows per INSERT, into phospho_store.tasks of a fresh
store.

    python _pipeline_raw.py BOOTSTRAP TOPIC TASKS CHDB_DIR RESULT.json
"""

from __future__ import annotations

import json
import sys
import time

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from phospho_schemas import EventDecoder
from phospho_sinks import connect, migrate
from phospho_stream.rules.joins import task_row

BATCH_ROWS = 10_000


def main(bootstrap: str, topic: str, expected: int, chdb_dir: str) -> dict[str, float | int]:
    store = connect(f"chdb://{chdb_dir}")
    migrate(store)
    decode = EventDecoder(timestamps_as_ms=True).decode
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-raw", "enable.auto.commit": False,
                         "log_level": 0})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    rows: list[bytes] = []
    inserted = 0
    first = decode_s = insert_s = 0.0
    deadline = time.monotonic() + 600
    while inserted < expected and time.monotonic() < deadline:
        messages = consumer.consume(5_000, 0.5)
        first = first or (time.time() if messages else 0.0)
        t0 = time.perf_counter()
        for msg in messages:
            if not msg.error():
                _, record = decode(msg.value(), expected_kind="task")
                rows.append(orjson.dumps(task_row(record, (msg.key() or b"").decode())))
        decode_s += time.perf_counter() - t0
        if len(rows) >= BATCH_ROWS or (rows and inserted + len(rows) >= expected):
            t0 = time.perf_counter()
            store.insert_json("phospho_store.tasks", b"\n".join(rows))
            insert_s += time.perf_counter() - t0
            inserted += len(rows)
            rows = []
    done = time.time()
    consumer.close()
    count = store.query("SELECT count() FROM phospho.tasks").rows[0][0]
    store.close()
    return {"first_message_at": first, "done_at": done, "inserted": inserted, "visible": int(count),
            "decode_row_seconds": decode_s, "insert_seconds": insert_s}


if __name__ == "__main__":
    bootstrap_, topic_, tasks_, dir_, result_path = sys.argv[1:6]
    outcome = main(bootstrap_, topic_, int(tasks_), dir_)
    with open(result_path, "w") as f:
        json.dump(outcome, f)
