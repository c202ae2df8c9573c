"""`phospho-stream up` end to end on the embedded defaults: SDK traffic through the broker, the
faust worker and the sink into chDB; queries after it stopped (directly). Queries while it runs
go through its endpoint: tests/integration/read/test_query_through_up.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
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
    done = subprocess.run([str(CLI), "up", "--kafka-port", "0", "--dashboard-port", "0", "--otlp-port", "0", "--demo", "--events", "12"], env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "== Messages that end sessions ==" in done.stdout and "== Struggling users" in done.stdout
    overview = re.search(r"== Overview ==\n\s*tasks\s+sessions.*\n.*\n\s*(\d+)\s+(\d+)", done.stdout)
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
