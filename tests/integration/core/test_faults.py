"""Pipeline faults on the real broker: a worker killed with SIGKILL mid-stream and restarted,
and two workers sharing one group. The analyst views must show every task once and exact
session totals."""

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

from phospho_schemas import Topics

from tests.support.kafka import consume_raw, task_ids_written, wait_quiet
from tests.support.processes import stop

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"

LOG = textwrap.dedent("""
    import sys, time, phospho
    phospho.init()
    start, count, pause = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    for i in range(start, start + count):
        phospho.log(input=f"q{i}", output="a", session_id=f"s{i % 25}", user_id=f"u{i % 5}", created_at=1_763_700_000 + i)
        if pause:
            time.sleep(pause)
    assert phospho.flush(60)
""")


def setup(broker, tmp_path):
    prefix = f"f{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
           "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_PROJECT_ID": "faults", "PHOSPHO_SPOOL_DIR": str(tmp_path / "spool"),
           "PHOSPHO_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'chdb'}", "PHOSPHO_DATA_DIR": str(tmp_path / "data"),
           "PHOSPHO_WORKER_PRODUCER_BATCH_BYTES": "1"}  # as `up` runs on the embedded broker
    return env


def start(cmd, env):
    return subprocess.Popen([str(CLI), cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def log(env, start_at, count, pause=0.0):
    subprocess.run([sys.executable, "-c", LOG, str(start_at), str(count), str(pause)], env=env, check=True, timeout=300)


def totals(env):
    done = subprocess.run([str(CLI), "query", """SELECT (SELECT count() FROM phospho.tasks) AS tasks,
        (SELECT uniqExact(task_id) FROM phospho.tasks) AS distinct_tasks,
        (SELECT sum(task_count) FROM phospho.sessions) AS in_sessions,
        (SELECT count() FROM phospho.sessions) AS sessions,
        (SELECT sum(task_count) FROM phospho.users) AS by_users""", "--format", "json"],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[0]


def wait_for_task_rows(env, expected, timeout=120.0):
    """Until the workers have written the row of `expected` distinct tasks and every stage
    went quiet (sessions follow their tasks by one hop)."""
    topics, bootstrap = Topics(env["PHOSPHO_TOPIC_PREFIX"]), env["PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"]
    got = consume_raw(bootstrap, topics.rows("tasks"), timeout=timeout,
                      until=lambda ms: len(task_ids_written(ms)) >= expected)
    wait_quiet(bootstrap, [*topics.row_topics(), topics.core_points], quiet=3)
    return len(task_ids_written(got))


def test_a_worker_killed_mid_stream_and_restarted_loses_and_doubles_nothing(broker, tmp_path):
    env = setup(broker, tmp_path)
    sink, worker = start("sink", env), start("worker", env)
    try:
        log(env, 0, 150)
        time.sleep(8)  # the worker processes (and commits) part of it
        logger = subprocess.Popen([sys.executable, "-c", LOG, "150", "150", "0.01"], env=env)
        time.sleep(1.0)
        worker.send_signal(signal.SIGKILL)  # mid-stream, no goodbye
        worker.wait(10)
        assert logger.wait(120) == 0
        worker = start("worker", env)
        assert wait_for_task_rows(env, 300) == 300
    finally:
        stop(worker, sink)
    # 25 sessions, one window each: every task counted once, in one window
    assert totals(env) == {"tasks": 300, "distinct_tasks": 300, "in_sessions": 300, "sessions": 25, "by_users": 300}


def test_two_workers_on_one_group_keep_exact_totals(broker, tmp_path):
    env = setup(broker, tmp_path)
    sink, workers = start("sink", env), [start("worker", env), start("worker", env)]
    try:
        time.sleep(8)  # both joined: partitions shared
        log(env, 0, 400)
        assert wait_for_task_rows(env, 400) == 400
    finally:
        stop(*workers, sink)
    assert totals(env) == {"tasks": 400, "distinct_tasks": 400, "in_sessions": 400, "sessions": 25, "by_users": 400}
