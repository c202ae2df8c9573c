"""`up` across restarts (issue 15): an app that keeps logging while `up` is stopped with SIGTERM
and started again ends with every task stored exactly once and no session split; a killed `up`
leaves no broker behind; a second `up` on the same data directory, or on a port in use, is one
line and exit 2."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from phospho_stream.local.broker import free_port

from tests.support.processes import stop

pytestmark = pytest.mark.e2e
CLI = Path(sys.executable).parent / "phospho-stream"
SESSIONS = 100

APP = textwrap.dedent("""
    import sys, time, phospho
    n, rate = int(sys.argv[1]), float(sys.argv[2])
    phospho.init(exit_timeout=120)
    start = time.monotonic()
    for i in range(n):
        phospho.log(task_id=f"app-t{i}", input=f"question {i}", output="answer", session_id=f"chat-{i % %(sessions)d}",
                    user_id=f"user-{i % 7}", created_at=1_763_700_000 + i // %(sessions)d)
        time.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))
    print("logged", n, "flush delivered:", phospho.flush(180), flush=True)
""".replace("%(sessions)d", str(SESSIONS)))


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS",
                                                              "PHOSPHO_CLICKHOUSE_DSN")}
    env.update(PHOSPHO_DATA_DIR=str(tmp_path / "data"), PHOSPHO_PROJECT_ID="restarts",
               PHOSPHO_SPOOL_DIR=str(tmp_path / "spool"))
    return env


def start_up(env: dict[str, str], kafka_port: int, log: Path) -> subprocess.Popen:
    up = subprocess.Popen([str(CLI), "up", "--kafka-port", str(kafka_port), "--dashboard-port", "0", "--otlp-port", "0"], env=env,
                          stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    up_file = Path(env["PHOSPHO_DATA_DIR"]) / "up.json"
    deadline = time.monotonic() + 120
    while not (up_file.exists() and json.loads(up_file.read_text() or "{}").get("pid") == up.pid):
        assert up.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
    return up


def query(env: dict[str, str], sql: str) -> list[dict]:
    done = subprocess.run([str(CLI), "query", sql, "--format", "json"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for(env: dict[str, str], tasks: int, timeout: float = 180.0) -> dict:
    figures: dict = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (figures,) = query(env, "SELECT (SELECT count() FROM phospho.tasks) AS tasks, "
                                "(SELECT uniqExact(task_id) FROM phospho.tasks) AS distinct_tasks, "
                                "(SELECT sum(task_count) FROM phospho.sessions) AS in_sessions, "
                                "(SELECT count() FROM phospho.sessions) AS sessions")
        if figures["tasks"] >= tasks and figures["in_sessions"] >= tasks:
            time.sleep(3)  # anything more would be a duplicate or a split: give it time to show
            (figures,) = query(env, "SELECT (SELECT count() FROM phospho.tasks) AS tasks, "
                                    "(SELECT uniqExact(task_id) FROM phospho.tasks) AS distinct_tasks, "
                                    "(SELECT sum(task_count) FROM phospho.sessions) AS in_sessions, "
                                    "(SELECT count() FROM phospho.sessions) AS sessions")
            return figures
        time.sleep(1)
    return figures


def test_an_app_logging_across_a_sigterm_restart_loses_and_splits_nothing(tmp_path, record_property):
    env, port, log = environment(tmp_path), free_port(), tmp_path / "up.log"
    n = 3000
    up = start_up(env, port, log)
    app = subprocess.Popen([sys.executable, "-c", APP, str(n), "300"], env={
        **env, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(4)  # a third of the traffic through the first up
        started = time.monotonic()
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0, log.read_text()[-3000:]
        record_property("up_stop_seconds", round(time.monotonic() - started, 1))
        time.sleep(2)  # the app spools meanwhile
        up = start_up(env, port, log)
        out, _ = app.communicate(timeout=240)
        assert "flush delivered: True" in out
        figures = wait_for(env, n)
    finally:
        stop(up, app)
    assert figures == {"tasks": n, "distinct_tasks": n, "in_sessions": n, "sessions": SESSIONS}, figures
    assert "records kept for the next start" in log.read_text()


def test_a_killed_up_leaves_no_broker_acknowledging_events(tmp_path, record_property):
    env, port, log = environment(tmp_path), free_port(), tmp_path / "up.log"
    up = start_up(env, port, log)
    up.send_signal(signal.SIGKILL)
    up.wait(10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            break  # nothing listens any more: the broker died with its parent
        time.sleep(0.1)
    else:
        pytest.fail("the embedded broker outlived its killed up")
    again = start_up(env, port, log)  # the data directory's lock went with the killed process
    stop(again)
    assert again.returncode == 0


def test_a_second_up_on_the_same_data_dir_and_a_port_in_use_are_one_line(tmp_path):
    env, port, log = environment(tmp_path), free_port(), tmp_path / "up.log"
    first = start_up(env, port, log)
    try:
        status = subprocess.run([str(CLI), "status"], env=env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout and "dashboard" in status.stdout
        second = subprocess.run([str(CLI), "up", "--kafka-port", "0", "--dashboard-port", "0", "--otlp-port", "0"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1 and f"another up runs on {env['PHOSPHO_DATA_DIR']}" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        other = {**env, "PHOSPHO_DATA_DIR": str(tmp_path / "other")}
        busy = subprocess.run([str(CLI), "up", "--kafka-port", str(port), "--dashboard-port", "0", "--otlp-port", "0"], env=other,
                              capture_output=True, text=True, timeout=60)
        assert busy.returncode == 2 and busy.stderr.count("\n") == 1
        assert f"port {port} is in use" in busy.stderr and "--kafka-port" in busy.stderr
    finally:
        stop(first)
