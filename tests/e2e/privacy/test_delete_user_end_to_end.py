"""Deleting a user end to end (issue 19), on `phospho-stream up`: their data can first be exported
(an access request); `delete-user --dry-run` counts and changes nothing; `delete-user` goes
through up's sink, prints what it removed and leaves an audit row; afterwards the user has zero
rows in every table and view, also after a reanalysis and after a replay of every event still in
Kafka by a second core stage. The other user of a session they shared keeps their own tasks."""

from __future__ import annotations

import csv
import getpass
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from confluent_kafka import Consumer, TopicPartition

from phospho_schemas import Topics

from tests.support.kafka import consume_raw
from tests.support.pii_scan import VIEW_NAMES, needles_of
from tests.support.processes import stop
from tests.support.up_process import CLI, app_environment, clean_environment, running_up

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[3]
APP = textwrap.dedent("""
    import sys, phospho
    gone, kept = sys.argv[1], sys.argv[2]
    phospho.init()
    for i in range(12):
        user = gone if i % 3 else kept
        session = "shared-" + kept[::-1] if i < 4 else f"own-{user}-{i % 2}"
        task_id = f"{user}-t{i}"
        phospho.log(task_id=task_id, input=f"question {i} from {user}", output="answer", user_id=user,
                    session_id=session, created_at=1_763_700_000 + 60 * i,
                    steps=[{"name": "lookup", "input": f"look {i}", "output": "found"}])
        phospho.user_feedback(task_id, flag="failure" if i % 2 else "success", notes=f"note {i}")
    phospho.shutdown(60)
""")


def _mine(up, gone: str, windows: list[str]) -> dict[str, int]:
    """Rows of the user in each view: by user id, by one of their task ids, or one of the windows
    that held their tasks."""
    their_tasks = f"task_id LIKE '{gone}-%'"
    counts = {}
    for view in VIEW_NAMES:
        columns = up.read(f"SELECT * FROM phospho.{view} LIMIT 0").columns
        checks = [f"{c} = '{gone}'" for c in ("user_id",) if c in columns]
        checks += [their_tasks] if "task_id" in columns else []
        checks += [f"window_id IN ({', '.join(repr(w) for w in windows)})"] if "window_id" in columns else []
        if checks and view != "deletions":
            counts[view] = up.read(f"SELECT count() AS n FROM phospho.{view} WHERE {' OR '.join(checks)}").rows[0][0]
    return counts


def _replayed(bootstrap: str, topics: Topics, group: str, total: int) -> bool:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
    try:
        parts = [TopicPartition(t, p) for t in topics.event_topics()
                 for p in consumer.list_topics(t, timeout=10).topics[t].partitions]
        return sum(max(0, tp.offset) for tp in consumer.committed(parts, timeout=10)) >= total
    finally:
        consumer.close()


def test_a_deleted_user_is_gone_from_every_table_and_stays_gone(tmp_path):
    gone, kept = f"gone{uuid.uuid4().hex[:6]}", f"kept{uuid.uuid4().hex[:6]}"
    env = clean_environment(tmp_path / "data")
    with running_up(env, tmp_path / "up.log") as up:
        subprocess.run([sys.executable, "-c", APP, gone, kept], env=app_environment(up, PHOSPHO_SPOOL_DIR=str(
            tmp_path / "spool")), check=True, timeout=180)
        up.wait("SELECT (SELECT countIf(analyzed) FROM phospho.tasks) AS tasks, (SELECT count() FROM phospho.spans) "
                "AS spans, (SELECT count() FROM phospho.feedback) AS feedback, (SELECT sum(task_count) FROM "
                "phospho.sessions) AS in_sessions", lambda r: r["tasks"] == r["spans"] == r["feedback"] == 12
                and r["in_sessions"] == 12)

        exported = up.cli("export", "tasks", "--format", "jsonl", "--user", gone, "--output", str(tmp_path / "a.jsonl"))
        assert exported.returncode == 0, exported.stderr
        rows = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
        assert sorted(r["task_id"] for r in rows) == sorted(f"{gone}-t{i}" for i in range(12) if i % 3)
        assert up.cli("export", "spans", "--format", "parquet", "--output", str(tmp_path / "s.parquet")).returncode == 0
        assert pq.read_table(tmp_path / "s.parquet").num_rows == 12
        assert up.cli("export", "sessions", "--format", "csv", "--output", str(tmp_path / "w.csv")).returncode == 0
        assert b"\r\n" not in (tmp_path / "w.csv").read_bytes()
        assert len(list(csv.DictReader((tmp_path / "w.csv").open()))) == up.read(
            "SELECT count() FROM phospho.sessions").rows[0][0]

        windows = [w for (w,) in up.read(f"SELECT DISTINCT session_window_id FROM phospho.tasks WHERE user_id = "
                                         f"'{gone}'").rows]
        before = _mine(up, gone, windows)
        assert before["tasks"] == 8 and before["spans"] == 8 and before["feedback"] == 8 and before["sessions"] >= 3
        dry = up.cli("delete-user", gone, "--dry-run")
        assert dry.returncode == 0 and "would remove (nothing was changed)" in dry.stdout, dry.stderr
        assert _mine(up, gone, windows) == before

        done = up.cli("delete-user", gone)
        assert done.returncode == 0, done.stderr
        assert "phospho.tasks" in done.stdout and "8" in done.stdout and "total" in done.stdout
        audit = up.read("SELECT user_id, requested_by, counts FROM phospho.deletions").dicts()
        assert audit == [{"user_id": gone, "requested_by": getpass.getuser(), "counts": {
            "tasks": 8, "spans": 8, "feedback": 8, "events": 0, "evaluations": 0, "sessions": before["sessions"],
            "task_topics": 0}}]
        assert set(_mine(up, gone, windows).values()) == {0}
        assert up.read(f"SELECT count() FROM phospho.tasks WHERE user_id = '{kept}'").rows == [(4,)]
        shared = up.read(f"SELECT count() FROM phospho.sessions WHERE session_id = 'shared-{kept[::-1]}'").rows
        assert shared == [(0,)]  # the window they shared with the deleted user went with it

        reanalysed = up.cli("reanalyze")
        assert reanalysed.returncode == 0, reanalysed.stderr
        topics = Topics(up.info.topic_prefix or "phospho.")
        total = sum(len(consume_raw(up.info.bootstrap, t, until=lambda got: False, timeout=4))
                    for t in topics.event_topics())
        replay_group = f"replay-{uuid.uuid4().hex[:6]}"
        replay = subprocess.Popen([str(CLI), "worker"], env={**app_environment(up), "PHOSPHO_APP_ID": replay_group,
                                  "PHOSPHO_DATA_DIR": str(tmp_path / "replay"), "PHOSPHO_WORKER_PRODUCER_BATCH_BYTES": "1"},
                                  stdout=subprocess.DEVNULL, stderr=(tmp_path / "replay.log").open("ab"))
        try:
            deadline = time.monotonic() + 180
            while not _replayed(up.info.bootstrap, topics, replay_group, total):
                assert replay.poll() is None and time.monotonic() < deadline, (tmp_path / "replay.log").read_text()[-2000:]
                time.sleep(1)
            time.sleep(8)  # its rows through the sink, the analysis of its records too
        finally:
            stop(replay)
        assert set(_mine(up, gone, windows).values()) == {0}
        assert up.read(f"SELECT count() FROM phospho.tasks WHERE user_id = '{kept}'").rows == [(4,)]

    needles = tmp_path / "needles.json"
    needles.write_text(json.dumps(needles_of([gone])))
    scanned = subprocess.run([sys.executable, "-m", "tests.support.pii_scan", str(tmp_path / "data" / "chdb"),
                              str(needles)], cwd=REPO, capture_output=True, text=True, timeout=300, env=os.environ)
    assert scanned.returncode == 0, scanned.stderr[-3000:]
    left = [hit for hit in json.loads(scanned.stdout)["hits"]
            if not hit.startswith(("phospho_store.deleted_users.", "phospho_store.deletions.", "phospho.deletions."))]
    assert left == []  # only the tombstone and the audit name the deleted user
