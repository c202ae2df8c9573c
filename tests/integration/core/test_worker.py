"""`phospho-stream worker` against the real broker: SDK events in, rows out on the row topics;
poison bytes become dead letters with their origin; nothing else is disturbed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from phospho_schemas import Topics

from tests.support.kafka import consume_raw, json_rows
from tests.support.processes import stop

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"


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
        producer.produce(topics.spans, b"\x00\x00\x00\x00\x07 a registry id nobody knows", key=b"chat-1")
        producer.produce(topics.feedback, b"{\"json\": \"is not avro\"}", key=b"chat-1")
        producer.flush(10)

        tasks = consume_raw(broker.bootstrap, topics.task_rows, until=lambda ms: len({r["task_id"] for r in json_rows(ms)}) >= 4)
        task_rows = json_rows(tasks)
        chat = [r for r in task_rows if r["session_id"] == "chat-1"]
        assert len({r["task_id"] for r in chat}) == 3
        assert {r["window_id"] for r in chat} == {f"s:chat-1|{min(chat, key=lambda r: r['created_at_ms'])['task_id']}"}
        bob = [r for r in task_rows if r["user_id"] == "bob"]
        assert bob and bob[0]["session_key"] == "u:bob"
        sessions = json_rows(consume_raw(broker.bootstrap, topics.session_rows, until=lambda ms: len(json_rows(ms)) >= 2))
        newest = max((s for s in sessions if s["session_key"] == "s:chat-1"), key=lambda s: s["version"])
        assert (newest["task_count"], newest["duration_ms"]) == (3, 120_000)
        letters = consume_raw(broker.bootstrap, topics.dead_letters, until=lambda ms: len(ms) >= 3)
        by_topic = {dict(m.headers())["source_topic"].decode(): dict(m.headers()) for m in letters}
        assert set(by_topic) == {topics.tasks, topics.spans, topics.feedback}  # poison on each topic
        assert b"fingerprint" in by_topic[topics.tasks]["reason"]
        assert b"schema registry" in by_topic[topics.spans]["reason"]
        assert b"framing" in by_topic[topics.feedback]["reason"]
        assert all(h["source_offset"].isdigit() and h["source_partition"].isdigit() for h in by_topic.values())
        feedback = json_rows(consume_raw(broker.bootstrap, topics.feedback_rows, until=lambda ms: len(ms) >= 1))
        assert feedback[0]["flag"] == "success" and feedback[0]["session_id"] == "chat-1"
    finally:
        stop(worker)


def test_worker_and_sink_as_separate_processes_fill_the_store(broker, tmp_path):
    """How operators deploy it: workers and one sink, each its own process."""
    prefix = f"ws{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
           "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_PROJECT_ID": "ws-test", "PHOSPHO_SPOOL_DIR": str(tmp_path / "spool"),
           "PHOSPHO_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'chdb'}"}
    procs = [subprocess.Popen([str(CLI), cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for cmd in ("worker", "sink")]
    try:
        subprocess.run([sys.executable, "-c", textwrap.dedent("""
            import phospho
            phospho.init()
            for i in range(20):
                phospho.log(input=f"q{i}", session_id=f"s{i % 4}", user_id=f"u{i % 2}")
            assert phospho.flush(30)
        """)], env=env, check=True, timeout=60)
        # the sink holds the chDB directory while it runs: watch the rows topic, query once it stopped
        got = consume_raw(broker.bootstrap, Topics(prefix).task_rows, timeout=90,
                          until=lambda ms: len({r["task_id"] for r in json_rows(ms)}) >= 20)
        assert len({r["task_id"] for r in json_rows(got)}) == 20
        time.sleep(2)  # the sink writes on a 1 s cadence (and flushes when stopped)
    finally:
        stop(*procs)
    assert procs[1].returncode == 0, procs[1].stderr.read()[-2000:]
    done = subprocess.run([str(CLI), "query", "SELECT count() AS n, uniqExact(session_window_id) AS w FROM phospho.tasks",
                           "--format", "json"], env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout) == [{"n": 20, "w": 4}], done.stderr


def test_spans_whose_task_never_comes_are_written_as_orphans_after_the_grace(broker, tmp_path):
    from phospho_schemas import SingleObjectSerializer, raw_schema

    prefix = f"wo{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix)
    broker.create_topics(topics.all())
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
           "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_JOIN_GRACE_SECONDS": "1", "PHOSPHO_JOIN_EXPIRE_EVERY_SECONDS": "1"}
    serialize = SingleObjectSerializer(raw_schema("span"))
    fields = {f["name"]: f.get("default") for f in raw_schema("span")["fields"]}
    producer = Producer({"bootstrap.servers": broker.bootstrap, "log_level": 0})
    for i in range(3):
        span = {**fields, "event_id": f"{prefix}s{i}", "project_id": "p", "trace_id": "0" * 32, "span_id": f"{i:016x}",
                "name": "openai.chat", "task_id": "task-that-never-comes", "start_time": 1_763_700_000_000,
                "end_time": 1_763_700_000_250, "sent_at": 1_763_700_000_300, "operation": "chat"}
        producer.produce(topics.spans, serialize(span), key=b"some-session")
    producer.flush(10)
    worker = subprocess.Popen([str(CLI), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        rows = json_rows(consume_raw(broker.bootstrap, topics.span_rows, timeout=90,
                                     until=lambda ms: len({r["event_id"] for r in json_rows(ms)}) >= 3))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert {r["event_id"] for r in rows} == {f"{prefix}s{i}" for i in range(3)}
    assert all(r["orphan"] and r["session_id"] is None and r["task_id"] == "task-that-never-comes" for r in rows)


def test_rows_are_split_into_messages_under_the_budget():
    from phospho_stream.worker import json_messages

    rows = [{"i": i, "text": "x" * 1000} for i in range(50)]
    messages = json_messages(rows, budget=10_000)
    assert all(len(m) <= 10_000 for m in messages) and len(messages) >= 5
    assert [r for m in messages for r in json.loads(m)] == rows
    big = [{"huge": "y" * 50_000}]
    assert json_messages(big, budget=10_000) == [json.dumps(big, separators=(",", ":")).encode()]
    assert json_messages([]) == []
    # sizes that change along the batch (small rows first, then large ones, a huge one among them)
    mixed = [{"i": i, "text": "z" * (10 if i < 300 else 3_000)} for i in range(400)]
    mixed.insert(350, {"i": -1, "text": "h" * 20_000})
    messages = json_messages(mixed, budget=10_000)
    assert [r for m in messages for r in json.loads(m)] == mixed  # every row once, in order
    assert all(len(m) <= 10_000 for m in messages if m.count(b'"i":') > 1)  # only a huge row goes alone over it
    assert len(messages) <= 2 * -(-sum(len(m) for m in messages) // 10_000) + 1  # messages are not needlessly small


def test_a_backlog_with_big_batches_is_processed(broker, tmp_path):
    """Regression: a 2,000-event batch of task rows is over 1 MB of JSON; it used to crash the agent."""
    prefix = f"wb{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix)
    broker.create_topics(topics.all())
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
           "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_PROJECT_ID": "backlog", "PHOSPHO_SPOOL_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import phospho
        phospho.init()
        for i in range(3000):
            phospho.log(input=f"q{i} " + "words " * 200, output="a" * 500, session_id=f"s{i % 300}")
        assert phospho.flush(60)
    """)], env=env, check=True, timeout=120)
    worker = subprocess.Popen([str(CLI), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        got = consume_raw(broker.bootstrap, topics.task_rows, timeout=120,
                          until=lambda ms: len({r["task_id"] for r in json_rows(ms)}) >= 3000)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert len({r["task_id"] for r in json_rows(got)}) == 3000
    assert max(len(m.value()) for m in got) <= 600_000


def test_a_worker_decodes_events_the_sdk_wrote_through_a_schema_registry(broker, tmp_path):
    from tests.support.schema_registry_server import SchemaRegistryServer

    prefix = f"wr{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix)
    broker.create_topics(topics.all())
    with SchemaRegistryServer() as registry:
        env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
               "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_PROJECT_ID": "worker-registry", "PHOSPHO_SPOOL_DIR": str(tmp_path),
               "PHOSPHO_SCHEMA_REGISTRY_URL": registry.url, "PHOSPHO_DATA_DIR": str(tmp_path / "data")}
        log = textwrap.dedent("""
            import phospho
            phospho.init()
            r = phospho.log(input="via the registry", output="ok", session_id="reg-1", user_id="ann")
            phospho.user_feedback(r["task_id"], flag="failure")
            assert phospho.flush(30)
        """)
        subprocess.run([sys.executable, "-c", log], env=env, check=True, timeout=60)
        raw = consume_raw(broker.bootstrap, topics.tasks, until=lambda ms: len(ms) >= 1)
        assert raw[0].value()[:1] == b"\x00"  # the Confluent wire format, not single-object
        worker = subprocess.Popen([str(CLI), "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            rows = consume_raw(broker.bootstrap, topics.task_rows,
                               until=lambda ms: any(r.get("feedback_flag") for r in json_rows(ms)))
            task = max(json_rows(rows), key=lambda r: r["version"])
            assert (task["input"], task["session_id"], task["feedback_flag"]) == ("via the registry", "reg-1", "failure")
        finally:
            stop(worker)
