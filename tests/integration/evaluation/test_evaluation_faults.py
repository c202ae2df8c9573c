"""The evaluation stage when the endpoint misbehaves, against the judge server process: a 429's
Retry-After is waited out, 500s are retried, an unreadable answer is asked again then recorded
as undefined with the reason, a rejected request is undefined at once; an unreachable endpoint
leaves the batch waiting (the status says why) and it completes once the endpoint is back."""

from __future__ import annotations

import threading
import time

import pytest

from phospho_schemas import Topics
from phospho_sinks import migrate
from phospho_stream.engine.evaluation import EvaluationEngine

from tests.support.evaluation import analysis_feeder, analysis_record, llm_config, produce_records
from tests.support.judge_server import JudgeServer
from tests.support.stage import sink_all

pytestmark = pytest.mark.integration

FAULTS = {"rules": [
    {"match": "ORD-429", "status": 429, "retry_after": 1.5, "times": 1},
    {"match": "ORD-500", "status": 500, "times": 2},
    {"match": "GARBAGE", "answer": "I would rather not say."},
    {"match": "TOO-LONG", "status": 400, "message": "this model's context length is exceeded"},
]}


def _asked(judge: JudgeServer, word: str) -> list[dict]:
    return [r for r in judge.requests() if word in r["body"]["messages"][-1]["content"]
            or (len(r["body"]["messages"]) > 2 and word in r["body"]["messages"][1]["content"])]


def test_retry_after_is_honoured_500s_retried_garbage_and_rejections_undefined_with_reason(settings, judge,
                                                                                         chdb_store):
    migrate(chdb_store)
    judge.configure(FAULTS)
    tag = settings.topic_prefix
    produce_records(settings, [analysis_record(f"{tag}{word}", f"{tag}{word}", f"about {word}, please")
                               for word in ("ORD-429", "ORD-500", "GARBAGE", "TOO-LONG")])
    engine = EvaluationEngine(settings, llm_config(judge), f"evaluation-{tag}")
    engine.start()
    feeder = analysis_feeder(settings)
    feeder.drain(engine.process, idle=0.5)
    feeder.close()
    status = engine.status()
    engine.close()
    limited = _asked(judge, "ORD-429")
    assert [r["status"] for r in limited] == [429, 200]
    assert limited[1]["at"] - limited[0]["at"] >= 1.5 - 0.05  # Retry-After waited out (the log is at answer time)
    assert [r["status"] for r in _asked(judge, "ORD-500")] == [500, 500, 200]
    garbage = _asked(judge, "GARBAGE")
    assert len(garbage) == 2 and "could not be read" in garbage[1]["body"]["messages"][-1]["content"]
    assert len(_asked(judge, "TOO-LONG")) == 1  # a rejected request is not asked again
    sink_all(settings.bootstrap, chdb_store, Topics(tag))
    rows = {task_id: (flag, reason) for task_id, flag, reason in chdb_store.query(
        "SELECT task_id, flag, reason FROM phospho.evaluations WHERE source = 'llm' AND startsWith(task_id, {t:String})",
        {"t": tag}).rows}
    assert rows[f"{tag}ORD-429"][0] == "success" and rows[f"{tag}ORD-500"][0] == "success"
    flag, reason = rows[f"{tag}GARBAGE"]
    assert flag == "undefined" and reason.startswith("unreadable answer, twice: the answer does not start with "
                                                     "success or failure: 'I would rather not say.'")
    assert rows[f"{tag}TOO-LONG"] == ("undefined", "the endpoint rejected the request: HTTP 400: this model's "
                                      "context length is exceeded")
    assert status["retries"] == 3 and status["rejected"] == 1 and status["undefined"] == 2


def test_an_unreachable_endpoint_leaves_the_batch_waiting_and_it_completes_when_the_endpoint_is_back(settings,
                                                                                                  chdb_store):
    migrate(chdb_store)
    tag = settings.topic_prefix
    with JudgeServer() as gone:
        port = gone.port
    config = _at(port)
    produce_records(settings, [analysis_record(f"{tag}{i}", f"{tag}{i}", f"question {i}") for i in range(5)])
    engine = EvaluationEngine(settings, config, f"evaluation-{tag}")
    engine.start()
    feeder = analysis_feeder(settings)
    drained = threading.Thread(target=feeder.drain, args=(engine.process,), kwargs={"idle": 0.5, "timeout": 120})
    drained.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (engine.status()["reason"] or "").startswith("retrying"):
        time.sleep(0.1)
    status = engine.status()
    assert status["state"] == "waiting" and "cannot reach" in status["reason"], status
    assert status["batch_pending"] == 5 and status["evaluated"] == 0
    with JudgeServer(port=port) as back:
        drained.join(60)
        assert not drained.is_alive()
        assert back.stats()["requests"] == 5
    feeder.close()
    assert engine.status()["evaluated"] == 5 and engine.status()["state"] == "running"
    engine.close()
    sink_all(settings.bootstrap, chdb_store, Topics(tag))
    (count,) = chdb_store.query("SELECT count() FROM phospho.evaluations WHERE startsWith(task_id, {t:String})",
                                {"t": tag}).rows[0]
    assert count == 5


def _at(port: int):
    from phospho_stream.config import parse_config

    return parse_config(f"llm:\n  base_url: http://127.0.0.1:{port}/v1\n  model: judge\n  retry_max_wait_s: 0.3\n"
                        "  timeout_s: 5\nevaluation: {enabled: true}\n")
