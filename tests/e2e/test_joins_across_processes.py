"""Joins by task, whatever process logged what (issue 15): one process logs tasks, another logs
feedback on some of them afterwards, a third logged feedback on others before they existed, a
fourth sends spans of tasks it never logged. Every join holds in the views: each task's flag
and span summary, its feedback linked to its session, its session's counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from phospho_schemas import Topics

from tests.support.kafka import consume_raw, task_ids_written, wait_quiet
from tests.support.processes import stop

pytestmark = pytest.mark.e2e
CLI = Path(sys.executable).parent / "phospho-stream"
N = 40  # tasks, in 8 sessions of 5


def run(env: dict[str, str], code: str) -> None:
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, check=True, timeout=120)


def test_tasks_feedback_before_and_after_and_spans_from_other_processes_all_join(broker, tmp_path):
    prefix = f"x{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix)
    broker.create_topics(topics.all())
    tag = uuid.uuid4().hex[:6]
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
           "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_PROJECT_ID": "joins", "PHOSPHO_DATA_DIR": str(tmp_path / "d"),
           "PHOSPHO_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'chdb'}", "PHOSPHO_SPOOL_DIR": str(tmp_path / "spool"),
           "TAG": tag, "N": str(N)}
    procs = [subprocess.Popen([str(CLI), cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for cmd in ("worker", "sink")]
    try:
        # process C: feedback on tasks 30-39 before they exist
        run(env, """
            import os, phospho
            phospho.init()
            for i in range(30, int(os.environ["N"])):
                phospho.user_feedback(f"{os.environ['TAG']}-t{i}", flag="failure", notes="said before")
            assert phospho.flush(30)
        """)
        # process D: spans of tasks 0-9, which it never logs
        run(env, """
            import os, phospho
            from opentelemetry import trace
            phospho.init(tracing=True)
            tracer = trace.get_tracer("process-d")
            for i in range(10):
                with phospho.tracer(task_id=f"{os.environ['TAG']}-t{i}"):
                    with tracer.start_as_current_span("llm", attributes={
                            "gen_ai.operation.name": "chat", "gen_ai.system": "openai",
                            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 100,
                            "gen_ai.usage.output_tokens": 20}):
                        pass
            phospho.shutdown(30)
        """)
        # process A: the tasks, 8 sessions of 5, a minute apart
        run(env, """
            import os, phospho
            phospho.init()
            tag = os.environ["TAG"]
            for i in range(int(os.environ["N"])):
                phospho.log(task_id=f"{tag}-t{i}", input=f"question {i}", output="answer",
                            session_id=f"{tag}-s{i % 8}", user_id=f"{tag}-u{i % 4}",
                            created_at=1_763_700_000 + 60 * (i // 8))
            assert phospho.flush(30)
        """)
        # process B: feedback on tasks 10-19 after they exist
        run(env, """
            import os, phospho
            phospho.init()
            for i in range(10, 20):
                phospho.user_feedback(f"{os.environ['TAG']}-t{i}", flag="success", notes="said after")
            assert phospho.flush(30)
        """)
        consume_raw(broker.bootstrap, topics.rows("tasks"), timeout=120,
                    until=lambda ms: len(task_ids_written(ms)) >= N)
        wait_quiet(broker.bootstrap, [*topics.row_topics(), topics.core_points], quiet=4)
    finally:
        stop(*procs)

    def query(sql: str) -> list[dict]:
        done = subprocess.run([str(CLI), "query", sql, "--format", "json"], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    tasks = {r["task_id"]: r for r in query("SELECT task_id, flag, span_count, span_input_tokens, session_id FROM phospho.tasks")}
    assert len(tasks) == N
    flags = {i: tasks[f"{tag}-t{i}"]["flag"] for i in range(N)}
    assert [i for i, f in flags.items() if f == "success"] == list(range(10, 20))  # feedback after
    assert [i for i, f in flags.items() if f == "failure"] == list(range(30, 40))  # feedback before
    spans = {i: (tasks[f"{tag}-t{i}"]["span_count"], tasks[f"{tag}-t{i}"]["span_input_tokens"]) for i in range(N)}
    assert {i: s for i, s in spans.items() if s[0]} == {i: (1, 100) for i in range(10)}  # spans from another process
    feedback = query("SELECT task_id, session_id, orphan FROM phospho.feedback")
    assert len(feedback) == 20 and not any(f["orphan"] for f in feedback)
    assert all(f["session_id"] == tasks[f["task_id"]]["session_id"] for f in feedback)
    linked = query("SELECT count() AS n, countIf(orphan) AS orphans FROM phospho.spans")
    assert linked == [{"n": 10, "orphans": 0}]
    sessions = query("SELECT session_id, task_count, success_count, failure_count FROM phospho.sessions "
                     "ORDER BY session_id")
    assert sum(s["task_count"] for s in sessions) == N
    assert (sum(s["success_count"] for s in sessions), sum(s["failure_count"] for s in sessions)) == (10, 10)
