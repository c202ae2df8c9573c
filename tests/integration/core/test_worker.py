"""`phospho-stream worker` (the core stage's faust process) against the real broker: SDK events in,
rows out; poison becomes dead letters with its origin; feedback whose task never comes is
dead-lettered after the horizon; events written through a schema registry are read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from phospho_schemas import Topics

from tests.support.events import feedback
from tests.support.kafka import consume_raw, json_rows, task_ids_written, wait_quiet
from tests.support.processes import stop
from tests.support.stage import produce

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"


def environment(broker, tmp_path, tag: str, **extra: str) -> dict[str, str]:
    prefix = f"{tag}{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    return {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
            "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_PROJECT_ID": "worker-test",
            "PHOSPHO_SPOOL_DIR": str(tmp_path / "spool"), "PHOSPHO_DATA_DIR": str(tmp_path / "data"),
            "PHOSPHO_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'chdb'}", **extra}


def query(env: dict[str, str], sql: str) -> list[dict]:
    done = subprocess.run([str(CLI), "query", sql, "--format", "json"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def start(env: dict[str, str], *commands: str) -> list[subprocess.Popen]:
    return [subprocess.Popen([str(CLI), cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for cmd in commands]


def settle(env: dict[str, str], tasks: int) -> None:
    """Until the worker wrote `tasks` tasks and every stage went quiet (the sessions follow the
    tasks by one hop through core.points)."""
    topics, bootstrap = Topics(env["PHOSPHO_TOPIC_PREFIX"]), env["PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"]
    got = consume_raw(bootstrap, topics.rows("tasks"), timeout=120, until=lambda ms: len(task_ids_written(ms)) >= tasks)
    assert len(task_ids_written(got)) == tasks
    wait_quiet(bootstrap, [*topics.row_topics(), topics.core_points], quiet=3)


def test_sdk_events_become_views_and_poison_becomes_dead_letters(broker, tmp_path):
    env = environment(broker, tmp_path, "w")
    topics = Topics(env["PHOSPHO_TOPIC_PREFIX"])
    procs = start(env, "worker", "sink")
    try:
        subprocess.run([sys.executable, "-c", textwrap.dedent("""
            import phospho
            phospho.init()
            for i in range(3):
                r = phospho.log(input=f"q{i}", output=f"a{i}", session_id="chat-1", user_id="ann",
                                created_at=1_763_700_000 + 60 * i)
            phospho.user_feedback(r["task_id"], flag="success")
            phospho.log(input="alone", user_id="bob")
            assert phospho.flush(30)
        """)], env=env, check=True, timeout=60)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "log_level": 0})
        producer.produce(topics.tasks, b"\xc3\x01 not avro at all", key=b"chat-1")
        producer.produce(topics.spans, b"\x00\x00\x00\x00\x07 a registry id nobody knows", key=b"chat-1")
        producer.produce(topics.feedback, b"{\"json\": \"is not avro\"}", key=b"chat-1")
        producer.flush(10)
        settle(env, 4)
        letters = consume_raw(broker.bootstrap, topics.dead_letters, until=lambda ms: len(ms) >= 3)
    finally:
        stop(*procs)
    assert procs[1].returncode == 0, procs[1].stderr.read()[-2000:]
    by_topic = {dict(m.headers())["source_topic"].decode(): dict(m.headers()) for m in letters}
    assert set(by_topic) == {topics.tasks, topics.spans, topics.feedback}  # poison on each topic
    assert b"fingerprint" in by_topic[topics.tasks]["reason"]
    assert b"schema registry" in by_topic[topics.spans]["reason"]
    assert b"framing" in by_topic[topics.feedback]["reason"]
    assert query(env, "SELECT session_key, count() AS n, uniqExact(session_window_id) AS w FROM phospho.tasks "
                      "GROUP BY session_key ORDER BY session_key") == [
        {"session_key": "s:chat-1", "n": 3, "w": 1}, {"session_key": "u:bob", "n": 1, "w": 1}]
    assert query(env, "SELECT task_count, duration_s, success_count FROM phospho.sessions "
                      "WHERE session_key = 's:chat-1'") == [{"task_count": 3, "duration_s": 120, "success_count": 1}]
    assert query(env, "SELECT flag, session_id, orphan FROM phospho.feedback") == [
        {"flag": "success", "session_id": "chat-1", "orphan": False}]
    assert query(env, "SELECT count() AS n FROM phospho.dead_letters") == [{"n": 3}]


def test_feedback_whose_task_never_comes_is_dead_lettered_after_the_horizon(broker, tmp_path):
    env = environment(broker, tmp_path, "wh", PHOSPHO_JOIN_HORIZON_DAYS="0.00002",  # ~1.7 s
                      PHOSPHO_EXPIRE_EVERY_SECONDS="1")
    topics = Topics(env["PHOSPHO_TOPIC_PREFIX"])
    produce(broker.bootstrap, topics, [feedback("task-that-never-comes", "failure", event_id=f"f{i}") for i in range(3)])
    (worker,) = start(env, "worker")
    try:
        letters = consume_raw(broker.bootstrap, topics.dead_letters, timeout=90, until=lambda ms: len(ms) >= 3)
    finally:
        stop(worker)
    reasons = sorted(dict(m.headers())["reason"].decode() for m in letters)
    assert reasons == [f"feedback f{i}: its task task-that-never-comes did not arrive within 2e-05 days"
                       for i in range(3)]
    assert {dict(m.headers())["source_topic"].decode() for m in letters} == {topics.feedback}
    rows = json_rows(consume_raw(broker.bootstrap, topics.rows("feedback"), until=lambda ms: len(ms) >= 1))
    assert {(r["event_id"], r["orphan"]) for r in rows} == {(f"f{i}", True) for i in range(3)}  # visible meanwhile


def test_a_backlog_of_long_tasks_is_processed_in_messages_under_the_budget(broker, tmp_path):
    env = environment(broker, tmp_path, "wb")
    topics = Topics(env["PHOSPHO_TOPIC_PREFIX"])
    subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import phospho
        phospho.init()
        for i in range(3000):
            phospho.log(input=f"q{i} " + "words " * 200, output="a" * 500, session_id=f"s{i % 300}")
        assert phospho.flush(60)
    """)], env=env, check=True, timeout=120)
    (worker,) = start(env, "worker")
    try:
        got = consume_raw(broker.bootstrap, topics.rows("tasks"), timeout=120,
                          until=lambda ms: len(task_ids_written(ms)) >= 3000)
    finally:
        stop(worker)
    assert len(task_ids_written(got)) == 3000
    assert max(len(m.value()) for m in got) <= 600_000


def test_a_worker_reads_events_the_sdk_wrote_through_a_schema_registry(broker, tmp_path):
    from tests.support.schema_registry_server import SchemaRegistryServer

    with SchemaRegistryServer() as registry:
        env = environment(broker, tmp_path, "wr", PHOSPHO_SCHEMA_REGISTRY_URL=registry.url)
        topics = Topics(env["PHOSPHO_TOPIC_PREFIX"])
        subprocess.run([sys.executable, "-c", textwrap.dedent("""
            import phospho
            phospho.init()
            r = phospho.log(input="via the registry", output="ok", session_id="reg-1", user_id="ann")
            phospho.user_feedback(r["task_id"], flag="failure")
            assert phospho.flush(30)
        """)], env=env, check=True, timeout=60)
        raw = consume_raw(broker.bootstrap, topics.tasks, until=lambda ms: len(ms) >= 1)
        assert raw[0].value()[:1] == b"\x00"  # the Confluent wire format, not single-object
        (worker,) = start(env, "worker")
        try:
            rows = json_rows(consume_raw(broker.bootstrap, topics.rows("tasks"), until=lambda ms: any(
                r.get("feedback_flag") for r in json_rows(ms)) and any("input" in r for r in json_rows(ms))))
        finally:
            stop(worker)
    merged = {}
    for row in rows:
        merged.update({k: v for k, v in row.items() if v is not None})
    assert (merged["input"], merged["session_id"], merged["feedback_flag"]) == ("via the registry", "reg-1", "failure")
