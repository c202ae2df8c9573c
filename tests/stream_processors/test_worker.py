"""`phospho-stream worker` against the real broker: SDK events in, rows out on the row topics;
poison bytes become dead letters with their origin; nothing else is disturbed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from phospho_schemas import Topics

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"


def rows_of(messages):
    out = []
    for _, _, msg in messages:
        value = json.loads(msg.value())
        out += value if isinstance(value, list) else [value]
    return out


def raw_consume(bootstrap, topic, until, timeout=90):
    """Messages of a topic that are not phospho events (row JSON, dead letters)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "log_level": 0})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    import time

    got, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline and not until(got):
        got += [m for m in consumer.consume(1000, 0.5) if not m.error()]
    consumer.close()
    return got


def test_worker_turns_sdk_events_into_rows_and_poison_into_dead_letters(broker, tmp_path):
    prefix = f"w{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix)
    broker.create_topics(topics.all())
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
           "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_PROJECT_ID": "worker-test", "PHOSPHO_SPOOL_DIR": str(tmp_path)}
    worker = subprocess.Popen([str(CLI), "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        log = textwrap.dedent("""
            import phospho
            phospho.init()
            for i in range(3):
                r = phospho.log(input=f"q{i}", output=f"a{i}", session_id="chat-1", user_id="ann", created_at=1_763_700_000 + 60 * i)
            phospho.user_feedback(r["task_id"], flag="success")
            phospho.log(input="alone", user_id="bob")
            assert phospho.flush(30)
        """)
        subprocess.run([sys.executable, "-c", log], env=env, check=True, timeout=60)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "log_level": 0})
        producer.produce(topics.tasks, b"\xc3\x01 not avro at all", key=b"chat-1")
        producer.flush(10)

        tasks = raw_consume(broker.bootstrap, topics.task_rows, until=lambda ms: len({r["task_id"] for r in rows_of([(0, 0, m) for m in ms])}) >= 4)
        task_rows = rows_of([(0, 0, m) for m in tasks])
        chat = [r for r in task_rows if r["session_id"] == "chat-1"]
        assert len({r["task_id"] for r in chat}) == 3
        assert {r["window_id"] for r in chat} == {f"s:chat-1|{min(chat, key=lambda r: r['created_at_ms'])['task_id']}"}
        bob = [r for r in task_rows if r["user_id"] == "bob"]
        assert bob and bob[0]["session_key"] == "u:bob"
        sessions = rows_of([(0, 0, m) for m in raw_consume(broker.bootstrap, topics.session_rows,
                                               until=lambda ms: len(rows_of([(0, 0, m) for m in ms])) >= 2)])
        newest = max((s for s in sessions if s["session_key"] == "s:chat-1"), key=lambda s: s["version"])
        assert (newest["task_count"], newest["duration_ms"]) == (3, 120_000)
        letters = raw_consume(broker.bootstrap, topics.dead_letters, until=lambda ms: len(ms) >= 1)
        headers = dict(letters[0].headers())
        assert headers["source_topic"] == topics.tasks.encode() and b"fingerprint" in headers["reason"]
        feedback = rows_of([(0, 0, m) for m in raw_consume(broker.bootstrap, topics.feedback_rows, until=lambda ms: len(ms) >= 1)])
        assert feedback[0]["flag"] == "success" and feedback[0]["session_id"] == "chat-1"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
