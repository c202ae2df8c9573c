"""What the evaluation stage never loses and never pays twice for, against the judge server
process: identical tasks are answered from the cache; the daily budget stops the calls (the
batch waits, the status says so, a restart the same day stays stopped) and they resume the next
UTC day; a batch aborted midway keeps its answers, and read again by a new engine every task is
evaluated once, the answers already paid for coming from the cache."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from phospho_schemas import Topics
from phospho_sinks import migrate
from phospho_stream.engine.evaluation import EvaluationEngine
from phospho_stream.errors import BatchAborted

from tests.support.evaluation import (
    Clock,
    analysis_feeder,
    analysis_record,
    llm_config,
    produce_records,
)
from tests.support.stage import sink_all

pytestmark = pytest.mark.integration

NOON = datetime(2025, 3, 24, 12, tzinfo=UTC).timestamp()


def _evaluations(store, tag: str) -> list[tuple]:
    return store.query("SELECT task_id, flag, cost_usd FROM phospho.evaluations WHERE source = 'llm' AND "
                       "startsWith(task_id, {t:String}) ORDER BY task_id", {"t": tag}).rows


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {predicate.__doc__ or ''}"
        time.sleep(0.05)


def test_identical_tasks_are_asked_once_and_answered_from_the_cache(settings, judge, chdb_store):
    migrate(chdb_store)
    judge.configure({})
    tag = settings.topic_prefix
    produce_records(settings, [analysis_record(f"{tag}{i}", f"{tag}{i}", "Hi! What are your opening hours?",
                                               output="We are open 9 to 5.") for i in range(6)])
    engine = EvaluationEngine(settings, llm_config(judge), f"evaluation-{tag}")
    engine.start()
    feeder = analysis_feeder(settings)
    feeder.drain(engine.process, idle=0.5)
    feeder.close()
    status = engine.status()
    engine.close()
    assert judge.stats()["requests"] == 1
    assert (status["calls"], status["cache_hits"], status["evaluated"]) == (1, 5, 6)
    sink_all(settings.bootstrap, chdb_store, Topics(tag))
    rows = _evaluations(chdb_store, tag)
    assert [flag for _, flag, _ in rows] == ["success"] * 6
    assert sorted(cost > 0 for _, _, cost in rows) == [False] * 5 + [True]  # one paid, five reused


def test_the_daily_budget_stops_calls_survives_a_restart_and_resumes_the_next_utc_day(settings, judge, chdb_store):
    migrate(chdb_store)
    judge.configure({})
    tag = settings.topic_prefix
    # ~200 tokens a call at $1,000 per million: ~$0.2 a call; $0.5 a day: three calls
    config = llm_config(judge, llm="  daily_budget_usd: 0.5\n", concurrency=1, price=(1000.0, 1000.0))
    produce_records(settings, [analysis_record(f"{tag}{i}", f"{tag}{i}", f"question number {i}") for i in range(6)])
    clock = Clock(NOON)
    engine = EvaluationEngine(settings, config, f"evaluation-{tag}", clock=clock)
    engine.start()
    feeder = analysis_feeder(settings)
    outcome: list = []

    def drain(engine=engine) -> None:
        try:
            feeder.drain(engine.process, idle=0.5, timeout=120)
            outcome.append("done")
        except BatchAborted as exc:
            outcome.append(exc)

    worker = threading.Thread(target=drain)
    worker.start()
    _wait_for(lambda: (engine.status()["reason"] or "").startswith("daily budget reached"))
    time.sleep(0.5)
    status = engine.status()
    assert judge.stats()["requests"] == 3 and status["budget"]["spent_today_usd"] >= 0.5
    assert status["state"] == "waiting" and "calls resume at 2025-03-25 00:00 UTC" in status["reason"]
    assert worker.is_alive() and status["batch_pending"] == 3  # the backlog waits, nothing is given up
    engine.close()  # stopped while waiting: the batch is aborted, the spend is in the state
    worker.join(30)
    assert isinstance(outcome[0], BatchAborted)

    again = EvaluationEngine(settings, config, f"evaluation-{tag}", clock=clock)
    again.start()
    feeder = analysis_feeder(settings)
    outcome.clear()
    worker = threading.Thread(target=drain, kwargs={"engine": again})
    worker.start()
    _wait_for(lambda: (again.status()["reason"] or "").startswith("daily budget reached"))
    assert judge.stats()["requests"] == 3  # the same day: still stopped after the restart
    assert again.status()["cache_hits"] == 3  # what was paid for before is not asked again
    clock.now += 86_400  # the next UTC day
    worker.join(60)
    assert outcome == ["done"]
    feeder.close()
    assert judge.stats()["requests"] == 6 and again.status()["state"] == "running"
    again.close()
    sink_all(settings.bootstrap, chdb_store, Topics(tag))
    assert len(_evaluations(chdb_store, tag)) == 6


def test_a_batch_aborted_midway_is_read_again_and_nothing_is_lost_or_asked_twice(settings, judge, chdb_store):
    migrate(chdb_store)
    judge.configure({"delay_s": 0.2})
    tag = settings.topic_prefix
    produce_records(settings, [analysis_record(f"{tag}{i:02}", f"{tag}{i:02}", f"question {i}") for i in range(16)])
    config = llm_config(judge, concurrency=2)
    first = EvaluationEngine(settings, config, f"evaluation-{tag}")
    first.start()
    feeder = analysis_feeder(settings)
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(_drain(feeder, first)))
    worker.start()
    _wait_for(lambda: first.status()["answered"] >= 6)
    first.abort()  # the worker stops (or loses its partitions) mid-batch
    worker.join(30)
    assert isinstance(outcome[0], BatchAborted)
    answered_before = first.status()["answered"]
    first.close()
    feeder.close()

    again = EvaluationEngine(settings, config, f"evaluation-{tag}")  # a new worker reads the batch again
    again.start()
    feeder = analysis_feeder(settings)
    feeder.drain(again.process, idle=0.5)
    feeder.close()
    status = again.status()
    again.close()
    asked = [r["body"]["messages"][-1]["content"] for r in judge.requests()]
    assert len(set(asked)) == 16  # every task asked
    assert len(asked) <= 16 + 2  # at most the calls in flight when it stopped were asked twice
    assert status["cache_hits"] >= answered_before >= 6
    sink_all(settings.bootstrap, chdb_store, Topics(tag))
    assert [task_id for task_id, _, _ in _evaluations(chdb_store, tag)] == [f"{tag}{i:02}" for i in range(16)]


def _drain(feeder, engine):
    try:
        return feeder.drain(engine.process, idle=0.5, timeout=60)
    except BatchAborted as exc:
        return exc


def test_a_session_idle_past_the_retention_is_forgotten_with_its_texts(settings, judge):
    judge.configure({})
    tag = settings.topic_prefix
    settings = settings.model_copy(update={"state_retention_hours": 0.5 / 3600})  # half a second
    engine = EvaluationEngine(settings, llm_config(judge), f"evaluation-{tag}")
    engine.start()
    feeder = analysis_feeder(settings)

    def one(record: dict) -> None:  # each in a batch of its own
        produce_records(settings, [record])
        _wait_for(lambda: feeder.drain(engine.process, idle=0.3) > 0)

    one(analysis_record(f"{tag}a", f"{tag}s", "first words of the session"))
    time.sleep(1.0)
    one(analysis_record(f"{tag}other", f"{tag}other", "another session"))  # its batch's state write: s leaves
    one(analysis_record(f"{tag}b", f"{tag}s", "back after a long pause", at_ms=60_000))
    feeder.close()
    engine.close()
    (prompt,) = [r["body"]["messages"][1]["content"] for r in judge.requests()
                 if "back after a long pause" in r["body"]["messages"][1]["content"]]
    assert "CONTEXT" not in prompt  # the first task of the session was forgotten
