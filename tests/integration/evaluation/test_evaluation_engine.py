"""The evaluation stage's engine against the real broker, chDB and the judge server process:
every task gets a verdict with its reason; the user's feedback wins over the model in
phospho.tasks.flag and in the sessions' success counts; the few-shot examples come from user
feedback only, as many successes as failures; a session's earlier messages come in order."""

from __future__ import annotations

import pytest

from phospho_schemas import Topics
from phospho_sinks import migrate
from phospho_stream.engine.evaluation import EvaluationEngine

from tests.support.evaluation import llm_config, run_stages
from tests.support.events import MIN, feedback, task
from tests.support.stage import sink_all

pytestmark = pytest.mark.integration

RULES = {"rules": [{"match": r"\[START INTERACTION\]\nuser: I want a refund", "answer": "failure\nNo refund was offered."}]}


def test_tasks_get_verdicts_and_user_feedback_wins_in_tasks_and_sessions(settings, judge, chdb_store):
    migrate(chdb_store)
    judge.configure(RULES)
    tag = settings.topic_prefix
    engine = EvaluationEngine(settings, llm_config(judge), f"evaluation-{tag}")
    engine.start()
    events = [task(f"{tag}1", 0, session=tag, user=tag, text="I want a refund"),
              task(f"{tag}2", MIN, session=tag, user=tag, text="Thanks, what are your hours?"),
              task(f"{tag}3", 2 * MIN, session=tag, user=tag, text="And on Sundays?"),
              feedback(f"{tag}2", "failure", at=3 * MIN)]
    run_stages(settings, events, engine)
    status = engine.status()
    engine.close()
    sink_all(settings.bootstrap, chdb_store, Topics(tag))
    rows = {r[0]: r[1:] for r in chdb_store.query(
        "SELECT task_id, flag, flag_source, eval_flag, eval_reason, eval_model, eval_prompt_version, "
        "eval_cost_usd > 0 FROM phospho.tasks WHERE session_id = {s:String}", {"s": tag}).rows}
    assert rows[f"{tag}1"] == ("failure", "llm", "failure", "No refund was offered.", "judge", "e1", True)
    assert rows[f"{tag}2"][:4] == ("failure", "user", "success", "The assistant answered what the user asked.")
    assert rows[f"{tag}3"][:3] == ("success", "llm", "success")
    verdicts = chdb_store.query("SELECT task_id, source, flag FROM phospho.evaluations WHERE session_id = {s:String} "
                                "ORDER BY task_id, source", {"s": tag}).rows
    assert verdicts == [(f"{tag}1", "llm", "failure"), (f"{tag}2", "llm", "success"), (f"{tag}2", "user", "failure"),
                        (f"{tag}3", "llm", "success")]
    (session,) = chdb_store.query("SELECT task_count, success_count, failure_count FROM phospho.sessions "
                                  "WHERE session_id = {s:String}", {"s": tag}).rows
    assert session == (3, 1, 2)  # task 2: the user's failure, not the model's success
    (user,) = chdb_store.query("SELECT success_count, failure_count FROM phospho.users WHERE user_id = {u:String}",
                               {"u": tag}).rows
    assert user == (1, 2)
    assert status["evaluated"] == 3 and status["calls"] == 3 and status["state"] == "running"


def test_prompts_learn_from_user_feedback_only_balanced_and_show_the_session_in_order(settings, judge, chdb_store):
    judge.configure({})
    tag = settings.topic_prefix
    engine = EvaluationEngine(settings, llm_config(judge), f"evaluation-{tag}")
    engine.start()
    flagged = [task(f"{tag}s{i}", i * MIN, session=f"{tag}s{i}", text=f"flagged success question {i}") for i in range(3)]
    flagged += [task(f"{tag}f0", 0, session=f"{tag}f0", text="flagged failure question 0"),
                task(f"{tag}n0", 0, session=f"{tag}n0", text="judged only, never flagged")]
    flagged += [feedback(f"{tag}s{i}", "success", at=10 * MIN) for i in range(3)]
    flagged += [feedback(f"{tag}f0", "failure", at=10 * MIN)]
    run_stages(settings, flagged, engine, rounds=1)
    judge.reset()
    for n, word in enumerate(("first", "second", "third"), 1):  # one after the other, as a user chats
        run_stages(settings, [task(f"{tag}c{n}", (20 + n) * MIN, session=f"{tag}c", text=f"{word} message of c")],
                   engine, rounds=1)
    engine.close()
    prompts = {_task_of(r["body"]): r["body"]["messages"] for r in judge.requests()}
    system, user = (m["content"] for m in prompts["third message of c"])
    examples = system.split("[EXAMPLES START]")[1].split("[EXAMPLES END]")[0]
    # one success and one failure (the pool has 3 successes, 1 failure: balanced to 1 each)
    assert examples.count("-> success") == 1 and examples.count("-> failure") == 1
    assert "flagged success question 2" in examples and "flagged failure question 0" in examples
    assert "judged only" not in system  # the judge's own verdicts never teach it
    context = user.split("[CONTEXT START]")[1].split("[CONTEXT END]")[0]
    assert context.index("first message of c") < context.index("second message of c")
    assert "third message of c" not in context


def _task_of(body: dict) -> str:
    user = body["messages"][-1]["content"]
    return user.split("[START INTERACTION]")[1].split("\n")[1].removeprefix("user: ")
