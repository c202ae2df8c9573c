"""`phospho-stream up` end to end on the embedded defaults: SDK traffic through the broker, the
faust worker and the sink into chDB; queries while it runs (through its endpoint, since chDB
opens a directory in one process) and after it stopped (directly)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import stop

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"


def env_for(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS",
                                                              "PHOSPHO_CLICKHOUSE_DSN")}
    env.update(PHOSPHO_DATA_DIR=str(tmp_path / "data"), PHOSPHO_PROJECT_ID="up-test")
    return env


def query(env, sql, *extra):
    done = subprocess.run([str(CLI), "query", sql, "--format", "json", *extra], env=env, capture_output=True,
                          text=True, timeout=120)
    return done.returncode, (json.loads(done.stdout) if done.returncode == 0 else done.stderr)


def test_up_demo_then_query_after_it_stopped(tmp_path):
    env = env_for(tmp_path)
    done = subprocess.run([str(CLI), "up", "--demo", "--events", "25"], env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "== Messages that end sessions ==" in done.stdout and "== Struggling users" in done.stdout
    overview = re.search(r"tasks \| sessions.*\n.*\n(\d+)\s+\|\s+(\d+)", done.stdout)
    assert overview, done.stdout[:500]
    tasks, sessions = int(overview.group(1)), int(overview.group(2))
    assert tasks >= 25 and sessions >= 5
    assert not (tmp_path / "data" / "up.json").exists()
    code, rows = query(env, "SELECT count() AS n, countIf(length(errors) > 0) AS coerced FROM phospho.tasks")
    assert code == 0 and rows[0]["n"] == tasks and rows[0]["coerced"] >= 3  # the malformed demo inputs
    code, rows = query(env, "SELECT sum(task_count) AS n FROM phospho.sessions")
    assert rows == [{"n": tasks}]  # every task in exactly one live session window
    code, users = query(env, "SELECT user_id, task_count FROM phospho.users ORDER BY user_id")
    assert sum(u["task_count"] for u in users) == tasks


def test_query_while_up_runs_goes_through_its_endpoint(tmp_path):
    env = env_for(tmp_path)
    up = subprocess.Popen([str(CLI), "up"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        info = tmp_path / "data" / "up.json"
        deadline = time.monotonic() + 120
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert info.exists(), "up did not start"
        code, rows = query(env, "SELECT {x:String} AS x", "--param", "x=it's a value")
        assert code == 0 and rows == [{"x": "it's a value"}]
        code, err = query(env, "DROP TABLE phospho_store.tasks")
        assert code == 1 and "not allowed on the read-only path" in err
        code, rows = query(env, "SELECT count() AS n FROM phospho.tasks")
        assert code == 0 and rows == [{"n": 0}]
        insights = subprocess.run([str(CLI), "insights"], env=env, capture_output=True, text=True, timeout=120)
        assert insights.returncode == 0 and "== Power users ==" in insights.stdout
    finally:
        stop(up, sig=signal.SIGINT, timeout=60)
    assert up.returncode == 0
    assert not (tmp_path / "data" / "up.json").exists()
