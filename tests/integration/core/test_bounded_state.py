"""Bounded state (issue 15): a user with 15,000 tasks of 1 KB, and a session of 200 tasks of
100 KB, are all stored; the core worker's state records stay small (no texts in them) and its
memory stays bounded; an event too large to process is dead-lettered with its reason, and the
worker carries on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from phospho_schemas import Topics

from tests.support.kafka import consume_raw, task_ids_written, wait_quiet
from tests.support.processes import stop

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_huge_users_and_sessions_are_stored_with_small_state_and_bounded_memory(broker, tmp_path, record_property):
    prefix = f"b{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix)
    broker.create_topics(topics.all())
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
           "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_PROJECT_ID": "bounded", "PHOSPHO_DATA_DIR": str(tmp_path / "d"),
           "PHOSPHO_SPOOL_DIR": str(tmp_path / "spool"), "PHOSPHO_WORKER_MAX_EVENT_BYTES": str(4_000_000)}
    subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import phospho
        phospho.init(max_field_chars=200_000)
        for i in range(15_000):  # one user, no session: sessionized by user
            phospho.log(input=f"question {i} " + "w" * 1000, output="ok", user_id="heavy-user",
                        created_at=1_763_700_000 + i)
        for i in range(200):  # one session, 100 KB each
            phospho.log(input=f"long {i} " + "x" * 100_000, output="y" * 1000, session_id="long-session",
                        created_at=1_763_800_000 + i)
        assert phospho.flush(120)
    """)], env=env, check=True, timeout=300)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "log_level": 0, "message.max.bytes": 16_000_000})
    producer.produce(topics.tasks, b"\xc3\x01" + b"z" * 5_000_000, key=b"huge")  # over the worker's limit
    producer.flush(30)
    worker = subprocess.Popen([str(CLI), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        got = consume_raw(broker.bootstrap, topics.rows("tasks"), timeout=240,
                          until=lambda ms: len(task_ids_written(ms)) >= 15_200)
        wait_quiet(broker.bootstrap, [topics.rows("sessions"), topics.core_points], quiet=3)
        rss = peak_rss_mb(worker.pid)
        letters = consume_raw(broker.bootstrap, topics.dead_letters, until=lambda ms: len(ms) >= 1, timeout=30)
        state = consume_raw(broker.bootstrap, topics.state(f"app-{prefix}"), timeout=10)
    finally:
        stop(worker)
    assert len(task_ids_written(got)) == 15_200
    record_property("worker_peak_rss_mb", round(rss, 1))
    print(f"worker peak RSS: {rss:.1f} MB; state records: {len(state)}, largest {max(len(m.value() or b'') for m in state)} B")
    assert max(len(m.value() or b"") for m in state) < 10_000  # a task's facts or place, never its text
    # 15,200 tasks' facts and points (~1.4 KB each), not their 35 MB of text; the rest is the interpreter,
    # faust, and one batch's decoded events in flight (~230-350 MB seen here)
    assert rss < 500, rss
    (letter,) = letters
    assert b"larger than the worker's limit" in dict(letter.headers())["reason"]
