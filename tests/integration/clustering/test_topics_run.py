"""A topics run over stored tasks (chDB) and the real broker: the labelled support messages
become topics named by their words (or by the model, with embeddings from the endpoint, when
the config has an `llm:`), written through the row topics and the sink; the CLI's errors are
one line."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from phospho_schemas import Topics
from phospho_sinks import migrate, read_only_query
from phospho_stream.clustering import run_topics
from phospho_stream.config import ProjectConfig, parse_config
from phospho_stream.settings import WorkerSettings

from tests.support.judge_server import JudgeServer
from tests.support.stage import sink_all
from tests.support.store_rows import task, write

pytestmark = pytest.mark.integration
LABELLED = yaml.safe_load((Path(__file__).parents[2] / "unit/clustering/labelled_topics.yaml").read_text())
CLI = Path(sys.executable).parent / "phospho-stream"
HOUR = 3_600_000


@pytest.fixture()
def stored(broker, chdb_store, tmp_path):
    """The labelled messages as tasks of the last few hours (a fresh prefix of ids), and settings."""
    migrate(chdb_store)
    tag = f"t{uuid.uuid4().hex[:8]}"
    now = int(time.time() * 1000)
    rows, labels = [], {}
    for n, (label, texts) in enumerate((label, texts) for label, texts in LABELLED.items()):
        for i, text in enumerate(texts):
            task_id = f"{tag}-{label}-{i:02}"
            labels[task_id] = label
            rows.append(task(task_id, None, f"{tag}-s{n}{i}", f"{tag}-s{n}{i}|w", now - HOUR - i * 60_000, 10,
                             input=text, feedback_flag="success" if label == "password" else None))
    write(chdb_store, "tasks", rows)
    prefix = f"{tag}."
    broker.create_topics(Topics(prefix).all())
    settings = WorkerSettings(bootstrap=broker.bootstrap, topic_prefix=prefix, topic_partitions=4, data_dir=tmp_path)
    return settings, labels, now


def _read(store):
    return lambda sql, params=None: read_only_query(store, sql, params)


def test_a_run_writes_named_topics_and_each_task_topic_through_the_sink(stored, chdb_store):
    settings, labels, now = stored
    run = run_topics(settings, ProjectConfig(), _read(chdb_store), since_ms=3 * HOUR, k=5, now_ms=now)
    mine = [i for i in run.inputs if i.task_id in labels]
    assert len(mine) == 100
    sink_all(settings.bootstrap, chdb_store, Topics(settings.topic_prefix))
    topics = chdb_store.query("SELECT topic_id, name, size, length(examples), method FROM phospho.topics "
                              "WHERE run_id = {r:String} ORDER BY topic_id", {"r": run.run_id}).rows
    assert [t[0] for t in topics] == list(range(len(run.clustering.topics)))
    assert all(method == "tfidf-spectral" and examples == 5 for *_, examples, method in topics)
    names = " / ".join(t[1] for t in topics)
    for word in ("refund", "password", "delivery", "plan", "api"):
        assert word in names, names
    assigned = dict(chdb_store.query("SELECT task_id, topic_id FROM phospho.task_topics WHERE run_id = {r:String}",
                                     {"r": run.run_id}).rows)
    assert set(labels) <= set(assigned)
    password_topics = {assigned[t] for t, label in labels.items() if label == "password"}
    assert len(password_topics) <= 2  # the password messages stay together (18 of 20 in one, measured)


def test_with_an_llm_the_topics_are_grouped_by_embeddings_and_named_by_the_model(stored, chdb_store):
    settings, labels, now = stored
    rules = {"rules": [{"match": r"Name the topic[\s\S]*(refund|reimburse)", "answer": "Title: \"Refunds and returns\""}]}
    with JudgeServer(rules) as judge:
        config = parse_config(f"llm:\n  base_url: {judge.base_url}\n  model: judge\n  embeddings_model: embed\n")
        run = run_topics(settings, config, _read(chdb_store), since_ms=3 * HOUR, k=5, now_ms=now)
        asked = [r["body"]["messages"][0]["content"] for r in judge.requests()]
    assert run.clustering.method == "embeddings-spectral"
    assert len(asked) == 5 and all(a.startswith("Here are messages users sent") for a in asked)
    assert "Refunds and returns" in run.names  # the model's title, its quotes and label dropped
    assert all(name for name in run.names)  # the others keep their words ("OK" is the judge's default)


def test_the_cli_says_in_one_line_what_is_wrong(tmp_path, broker):
    env = {"PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PATH": "/usr/bin:/bin"}
    bad = subprocess.run([str(CLI), "topics", "--since", "7x"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "phospho-stream topics: --since '7x': give a number and a unit, e.g. 30m, 24h, 7d or 2w")
    empty = subprocess.run([str(CLI), "topics", "--dsn", f"chdb://{tmp_path / 'empty'}"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert empty.returncode == 2 and empty.stderr.startswith("phospho-stream topics: nothing to read")
    assert len(empty.stderr.strip().splitlines()) == 1, empty.stderr


def test_a_schedule_runs_topics_again_and_again_until_stopped(stored, chdb_store):
    from phospho_stream.clustering import TopicsSchedule

    settings, labels, _ = stored
    schedule = TopicsSchedule(settings, ProjectConfig(), _read(chdb_store), every_s=0.2, since_ms=3 * HOUR).start()
    deadline = time.monotonic() + 60
    while schedule.last is None and time.monotonic() < deadline:
        time.sleep(0.1)
    schedule.stop()
    assert schedule.last is not None and schedule.last_error is None
    assert set(labels) <= {i.task_id for i in schedule.last.inputs}
