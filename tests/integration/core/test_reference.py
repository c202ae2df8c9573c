"""End to end against a plain-Python reference: a seeded random workload goes through the real
SDK, broker, worker and sink; every session window, user aggregate and feedback count in the
views must equal what a few lines of Python compute from the same events."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from phospho_schemas import Topics

from tests.support.kafka import consume_raw, json_rows, task_ids_written, wait_quiet

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"
GAP_S = 30 * 60
T0 = 1_763_000_000


def workload(seed: int, n: int) -> tuple[list[dict], list[dict]]:
    """Tasks (as logged) and feedback calls, in logging order."""
    rng = random.Random(seed)
    users = [f"user{i}" for i in range(12)]
    clocks: dict[str, int] = {}
    tasks, feedback = [], []
    for i in range(n):
        user = rng.choice(users + [None])
        kind = rng.random()
        session = f"chat-{rng.randrange(40)}" if kind < 0.65 else None
        owner = session or user or f"solo{i}"
        clocks[owner] = clocks.get(owner, T0 + rng.randrange(3600)) + rng.choice([5, 60, 600, GAP_S - 1, GAP_S + 1, 86_400])
        if session:  # one user per explicit session, so a window's user is unambiguous
            user = f"owner-of-{session}"
        tokens = rng.choice([None, 7, 30])
        tasks.append({"task_id": f"task-{seed}-{i}", "input": f"question {i % 17}", "session_id": session, "user_id": user,
                      "created_at": clocks[owner], "tokens": tokens})
        if rng.random() < 0.3:
            feedback.append({"task_id": tasks[-1]["task_id"], "flag": rng.choice(["success", "failure"])})
            if rng.random() < 0.2:  # a change of mind: the latest flag counts
                feedback.append({"task_id": tasks[-1]["task_id"], "flag": rng.choice(["success", "failure"])})
    return tasks, feedback


def reference(tasks: list[dict], feedback: list[dict]) -> tuple[dict, dict]:
    flag = {}
    for f in feedback:
        flag[f["task_id"]] = f["flag"]
    by_key = defaultdict(list)
    for t in tasks:
        key = f"s:{t['session_id']}" if t["session_id"] else (f"u:{t['user_id']}" if t["user_id"] else f"t:{t['task_id']}")
        by_key[key].append(t)
    sessions = {}
    for key, items in by_key.items():
        items.sort(key=lambda t: (t["created_at"], t["task_id"]))
        groups = []
        for t in items:
            if groups and t["created_at"] - groups[-1][-1]["created_at"] <= GAP_S:
                groups[-1].append(t)
            else:
                groups.append([t])
        for g in groups:
            users = [t["user_id"] for t in g if t["user_id"]]
            sessions[(key, g[0]["task_id"])] = {
                "task_count": len(g), "duration_s": g[-1]["created_at"] - g[0]["created_at"],
                "first_input": g[0]["input"], "last_input": g[-1]["input"], "user_id": users[-1] if users else None,
                "total_tokens": sum(t["tokens"] or 0 for t in g),
                "success_count": sum(flag.get(t["task_id"]) == "success" for t in g),
                "failure_count": sum(flag.get(t["task_id"]) == "failure" for t in g)}
    users = {}
    for u in {t["user_id"] for t in tasks if t["user_id"]}:
        mine = [t for t in tasks if t["user_id"] == u]
        windows = [s for s in sessions.values() if s["user_id"] == u]
        users[u] = {"task_count": len(mine), "session_count": len(windows),
                    "total_tokens": sum(t["tokens"] or 0 for t in mine),
                    "success_count": sum(flag.get(t["task_id"]) == "success" for t in mine),
                    "failure_count": sum(flag.get(t["task_id"]) == "failure" for t in mine)}
    return sessions, users


LOGGER = textwrap.dedent("""
    import json, sys, time, phospho
    tasks, feedback = json.load(open(sys.argv[1]))
    phospho.init()
    for t in tasks:
        out = None if t["tokens"] is None else {"choices": [{"message": {"content": "ok"}}],
              "usage": {"prompt_tokens": 1, "completion_tokens": t["tokens"] - 1, "total_tokens": t["tokens"]}}
        phospho.log(input=t["input"], output=out, task_id=t["task_id"], session_id=t["session_id"],
                    user_id=t["user_id"], created_at=t["created_at"])
    assert phospho.flush(30)
    for f in feedback:
        phospho.user_feedback(f["task_id"], flag=f["flag"])
        time.sleep(0.002)  # distinct times: the latest flag is well defined
    assert phospho.flush(30)
""")


def query(env, sql):
    done = subprocess.run([str(CLI), "query", sql, "--format", "json"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("seed", [7, 2026])
def test_views_equal_a_plain_python_reference(broker, tmp_path, seed):
    prefix = f"ref{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
           "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_PROJECT_ID": "ref", "PHOSPHO_SPOOL_DIR": str(tmp_path / "spool"),
           "PHOSPHO_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'chdb'}", "PHOSPHO_DATA_DIR": str(tmp_path / "data"),
           "PHOSPHO_WORKER_PRODUCER_BATCH_BYTES": "1"}
    tasks, feedback = workload(seed, 300)
    (tmp_path / "load.json").write_text(json.dumps([tasks, feedback]))
    procs = [subprocess.Popen([str(CLI), cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for cmd in ("worker", "sink")]
    try:
        subprocess.run([sys.executable, "-c", LOGGER, str(tmp_path / "load.json")], env=env, check=True, timeout=120)
        topics = Topics(prefix)
        consume_raw(broker.bootstrap, topics.rows("feedback"), timeout=90,
                    until=lambda ms: len({r["event_id"] for r in json_rows(ms)}) >= len(feedback))
        consume_raw(broker.bootstrap, topics.rows("tasks"), timeout=90,
                    until=lambda ms: len(task_ids_written(ms)) >= len(tasks))
        wait_quiet(broker.bootstrap, [*topics.row_topics(), topics.core_points], quiet=3)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
    want_sessions, want_users = reference(tasks, feedback)
    got = query(env, """SELECT session_key, window_id, task_count, toInt64(duration_s) AS duration_s, first_input,
        last_input, user_id, total_tokens, success_count, failure_count FROM phospho.sessions""")
    got_sessions = {(r["session_key"], r["window_id"].split("|", 1)[1]): {k: r[k] for k in (
        "task_count", "duration_s", "first_input", "last_input", "user_id", "total_tokens", "success_count",
        "failure_count")} for r in got}
    assert got_sessions == want_sessions
    got_users = {r["user_id"]: {k: r[k] for k in ("task_count", "session_count", "total_tokens", "success_count",
                                                  "failure_count")}
                 for r in query(env, "SELECT * FROM phospho.users")}
    assert got_users == want_users
    assert query(env, "SELECT count() AS n, uniqExact(task_id) AS d FROM phospho.tasks") == [{"n": len(tasks), "d": len(tasks)}]
