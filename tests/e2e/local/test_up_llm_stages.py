"""`phospho-stream up --config` with an `llm:` endpoint: up starts the evaluation stage (a child
of its own) and makes topics runs on its schedule; every task logged through the SDK gets an LLM
verdict, and the topics land in the views. Without `llm:` the stage is off and the status says why."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.judge_server import JudgeServer
from tests.support.processes import stop

pytestmark = pytest.mark.e2e
CLI = Path(sys.executable).parent / "phospho-stream"
QUESTIONS = ["Where is my order {i}?", "How do I reset my password, attempt {i}?", "Refund for invoice {i} please",
             "Can I change the delivery address of order {i}?", "My password reset link {i} expired"]

LOG = """
import phospho, sys
phospho.init(project_id="llm-up")
for i in range(int(sys.argv[1])):
    phospho.log(input=sys.argv[2 + i % 5].format(i=i), output="Sure, here is how.", user_id=f"u{i % 4}",
                session_id=f"s{i % 6}")
assert phospho.flush(30)
"""


def query(env, sql):
    done = subprocess.run([str(CLI), "query", sql, "--format", "json"], env=env, capture_output=True, text=True,
                          timeout=120)
    return json.loads(done.stdout) if done.returncode == 0 else None


def start_up(env, *args):
    up = subprocess.Popen([str(CLI), "up", "--kafka-port", "0", "--dashboard-port", "0", "--otlp-port", "0", *args],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in up.stdout:
        if "export PHOSPHO_KAFKA_BOOTSTRAP_SERVERS=" in line:
            return up, line.split("=", 1)[1].strip()
    raise AssertionError("up ended before printing its Kafka address")


def environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOSPHO_", "KAFKA_"))}
    env.update(PHOSPHO_DATA_DIR=str(tmp_path / "data"), PHOSPHO_SPOOL_DIR=str(tmp_path / "spool"))
    return env


def test_up_evaluates_every_task_and_runs_topics_with_an_llm_endpoint(tmp_path):
    with JudgeServer({"rules": [{"match": "Refund", "answer": "failure\nNo refund was offered."}]}) as judge:
        config = tmp_path / "project.yaml"
        config.write_text(f"llm:\n  base_url: {judge.base_url}\n  model: judge\n  max_concurrency: 4\n"
                          "pricing:\n  judge: {input: 1.0, output: 2.0}\nevaluation: {enabled: true}\n")
        env = {**environment(tmp_path), "PHOSPHO_TOPICS_EVERY_MINUTES": "0.1", "PHOSPHO_TOPICS_SINCE": "1d"}
        up, bootstrap = start_up(env, "--config", str(config))
        try:
            n = 40
            subprocess.run([sys.executable, "-c", LOG, str(n), *QUESTIONS], check=True, timeout=90,
                           env={**env, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": bootstrap})
            deadline, flags, topics = time.monotonic() + 150, None, None
            while time.monotonic() < deadline:
                flags = query(env, "SELECT flag, count() AS n FROM phospho.evaluations WHERE source = 'llm' "
                                   "GROUP BY flag ORDER BY flag")
                topics = query(env, "SELECT count() AS n FROM phospho.task_topics")
                if flags and sum(r["n"] for r in flags) == n and topics and topics[0]["n"] > 0:
                    break
                time.sleep(2)
            assert sum(r["n"] for r in flags) == n and {r["flag"] for r in flags} == {"failure", "success"}, flags
            # the judge says failure when "Refund" is in the prompt: the task's own, or an earlier one of its session
            refunds = query(env, "SELECT flag, count() AS n FROM phospho.tasks WHERE input LIKE 'Refund%' GROUP BY flag")
            assert refunds == [{"flag": "failure", "n": 8}], refunds
            assert topics and topics[0]["n"] > 0, topics
            status = subprocess.run([str(CLI), "status"], env=env, capture_output=True, text=True, timeout=60)
            assert "evaluation backlog" in status.stdout, status.stdout
        finally:
            os.killpg(up.pid, signal.SIGTERM)
            stop(up, timeout=90)
        assert up.returncode == 0


def test_up_without_llm_says_the_evaluation_stage_is_off(tmp_path):
    env = environment(tmp_path)
    up, _ = start_up(env)
    try:
        from phospho_stream.engine.evaluation import read_status

        status = read_status(tmp_path / "data")
        assert status is not None and status["state"] == "off" and "no `llm:` section" in status["reason"]
        deadline, shown = time.monotonic() + 60, ""
        while "eval: off" not in shown and time.monotonic() < deadline:  # status.json is rewritten every 5 s
            shown = subprocess.run([str(CLI), "status"], env=env, capture_output=True, text=True, timeout=60).stdout
            time.sleep(1)
        assert "eval: off (the config has no `llm:` section" in " ".join(shown.split()), shown
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        stop(up, timeout=90)
