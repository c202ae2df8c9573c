"""`phospho-stream worker --stage evaluation` (the faust process) against the real broker and the
judge server process: stopped mid-backlog and started again, every task is evaluated, none is
asked twice but the calls in flight at the stop; its status file shows the backlog while it
works; without an `llm:` section it says it is off and exits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from phospho_schemas import Topics
from phospho_stream.engine.evaluation import read_status

from tests.support.evaluation import analysis_record, produce_records
from tests.support.judge_server import JudgeServer
from tests.support.kafka import consume_raw, json_rows
from tests.support.processes import stop

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"


def _environment(broker, tmp_path: Path) -> dict[str, str]:
    prefix = f"ew{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    return {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
            "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_DATA_DIR": str(tmp_path / "data"),
            "PHOSPHO_TOPIC_PARTITIONS": "4", "PHOSPHO_WORKER_PRODUCER_BATCH_BYTES": "1",
            "PHOSPHO_EVALUATION_BATCH_SIZE": "4"}


def _worker(env: dict[str, str], config: Path) -> subprocess.Popen:
    return subprocess.Popen([str(CLI), "worker", "--stage", "evaluation", "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _evaluated(env: dict[str, str], until: int, timeout: float) -> list[dict]:
    topic = Topics(env["PHOSPHO_TOPIC_PREFIX"]).rows("evaluations")
    got = consume_raw(env["PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"], topic, timeout=timeout,
                      until=lambda ms: len({r["task_id"] for r in json_rows(ms)}) >= until)
    return json_rows(got)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_stopped_mid_backlog_and_started_again_every_task_is_evaluated_once(broker, tmp_path):
    env = _environment(broker, tmp_path)
    tag = env["PHOSPHO_TOPIC_PREFIX"]
    with JudgeServer({"delay_s": 0.25}) as judge:
        config = tmp_path / "project.yaml"
        config.write_text(f"llm:\n  base_url: {judge.base_url}\n  model: judge\n  max_concurrency: 2\n"
                          "pricing:\n  judge: {input: 1.0, output: 2.0}\nevaluation: {enabled: true}\n")
        from phospho_stream.settings import WorkerSettings

        settings = WorkerSettings(bootstrap=env["PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"], topic_prefix=tag,
                                  topic_partitions=4)
        produce_records(settings, [analysis_record(f"{tag}{i:02}", f"{tag}{i % 7}", f"question {i}", at_ms=i)
                                   for i in range(30)])
        worker = _worker(env, config)
        try:
            _wait(lambda: judge.stats()["requests"] >= 8, 90, "the first answers")
            status = read_status(Path(env["PHOSPHO_DATA_DIR"]))
            assert status is not None and status["state"] == "running" and status["calls"] >= 1
            _wait(lambda: (read_status(Path(env["PHOSPHO_DATA_DIR"])) or {}).get("backlog"), 10, "a backlog")
        finally:
            stop(worker)
        first_errors = worker.stderr.read()
        assert worker.returncode == 0 and "Traceback" not in first_errors, first_errors
        before = judge.stats()["requests"]
        assert before < 30
        worker = _worker(env, config)
        try:
            rows = _evaluated(env, 30, timeout=120)
        finally:
            stop(worker)
        errors = worker.stderr.read()
        assert worker.returncode == 0 and "Traceback" not in errors, errors
        asked = [r["body"]["messages"][-1]["content"] for r in judge.requests()]
    assert {r["task_id"] for r in rows} == {f"{tag}{i:02}" for i in range(30)}
    assert len(set(asked)) == 30 and len(asked) <= 30 + 2  # only the calls in flight at the stop, again
    per_task = [sum(r["task_id"] == t for r in rows) for t in {r["task_id"] for r in rows}]
    assert max(per_task) <= 2  # a replayed batch writes the same row again (storage keeps one)


def test_without_an_llm_section_the_stage_says_it_is_off(broker, tmp_path):
    env = _environment(broker, tmp_path)
    config = tmp_path / "project.yaml"
    config.write_text("analytics: {language: true}\n")
    done = subprocess.run([str(CLI), "worker", "--stage", "evaluation", "--config", str(config)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "off: the config has no `llm:` section" in done.stderr
    status = read_status(Path(env["PHOSPHO_DATA_DIR"]))
    assert status is not None and status["state"] == "off" and "no `llm:` section" in status["reason"]
