"""LLM events through the evaluation stage, against the judge server process and chDB: each
score type (confidence from P(yes) over the first token's alternatives, range as the expected
value of the digits asked, category with 0 meaning absent) and each scope the definition names
(the input alone, the output alone, the whole session, the system prompt); rows in
phospho.events with source llm, names in phospho.tasks.events."""

from __future__ import annotations

import math

import pytest

from phospho_schemas import Topics
from phospho_sinks import migrate
from phospho_stream.engine.evaluation import EvaluationEngine

from tests.support.evaluation import llm_config, run_stages
from tests.support.events import MIN, task
from tests.support.stage import sink_all

pytestmark = pytest.mark.integration

EVENTS = """events:
  - event_name: asks for a human
    description: The user asks to talk to a human agent.
    detection_engine: llm_detection
    detection_scope: task_input_only
  - event_name: answer quality
    description: How good the assistant's answer is.
    detection_engine: llm_detection
    detection_scope: task_output_only
    score_range_settings: {score_type: range, min: 1, max: 5}
  - event_name: topic
    description: What the conversation is about.
    detection_engine: llm_detection
    detection_scope: session
    score_range_settings: {score_type: category, categories: [billing, shipping, other]}
  - event_name: pirate persona
    description: The system prompt gives the assistant a pirate persona.
    detection_engine: llm_detection
    detection_scope: system_prompt
"""
LN = math.log
RULES = {"rules": [
    {"match": r"user message with the event 'asks for a human'[\s\S]*human please",
     "answer": "Yes", "logprobs": {"Yes": LN(0.8), " yes": LN(0.05), "No": LN(0.15)}},
    {"match": r"the event 'answer quality'[\s\S]*assistant: a ",
     "answer": "4", "logprobs": {"4": LN(0.6), "5": LN(0.3), "3": LN(0.1)}},
    {"match": r"categorize the event 'topic'[\s\S]*my invoice", "answer": "1"},
    {"match": r"SYSTEM PROMPT TO LABEL START\]\nYou are Captain", "answer": "Yes",
     "logprobs": {"Yes": LN(0.7), "No": LN(0.3)}},
]}


def test_llm_events_of_each_score_type_and_scope_land_in_events_and_tasks(settings, judge, chdb_store):
    migrate(chdb_store)
    judge.configure(RULES)
    tag = settings.topic_prefix
    config = llm_config(judge, extra=EVENTS).model_copy(update={"evaluation": None})
    engine = EvaluationEngine(settings, config, f"evaluation-{tag}")
    engine.start()
    # one after the other: tasks are keyed by task_id, so in one run the core could hand task 2 to
    # the stage first, and a session-scope question is asked with the transcript seen so far
    run_stages(settings, [task(f"{tag}1", 0, session=tag, text="About my invoice: a human please",
                               system_prompt="You are Captain Jack, a pirate.")], engine, rounds=1)
    run_stages(settings, [task(f"{tag}2", MIN, session=tag, text="Thanks, bye")], engine)
    engine.close()
    sink_all(settings.bootstrap, chdb_store, Topics(tag))
    rows = chdb_store.query("SELECT task_id, event_name, source, detection_scope, round(score, 6), score_type, label "
                            "FROM phospho.events WHERE session_id = {s:String} ORDER BY task_id, event_name",
                            {"s": tag}).rows
    assert rows == [
        (f"{tag}1", "answer quality", "llm", "task_output_only", 4.2, "range", "4"),
        (f"{tag}1", "asks for a human", "llm", "task_input_only", 0.85, "confidence", "yes"),
        (f"{tag}1", "pirate persona", "llm", "system_prompt", 0.7, "confidence", "yes"),
        (f"{tag}1", "topic", "llm", "session", 1.0, "category", "billing"),
        (f"{tag}2", "answer quality", "llm", "task_output_only", 4.2, "range", "4"),
        # task 2's session still holds the invoice: its topic is billing too
        (f"{tag}2", "topic", "llm", "session", 1.0, "category", "billing"),
    ]
    events = dict(chdb_store.query("SELECT task_id, events FROM phospho.tasks WHERE session_id = {s:String}",
                                   {"s": tag}).rows)
    assert sorted(events[f"{tag}1"]) == ["answer quality", "asks for a human", "pirate persona", "topic"]
    asked = [r["body"]["messages"] for r in judge.requests()]
    persona = [m for m in asked if "pirate persona" in m[0]["content"]]
    assert len(persona) == 1  # task 2 has no system prompt: nothing to ask
    human = [m[1]["content"] for m in asked if "asks for a human" in m[0]["content"]]
    assert all("assistant:" not in text.split("[INTERACTION TO LABEL START]")[1] for text in human)  # input only
    assert len(asked) == 7 and not any("success or failure" in m[1]["content"] for m in asked)  # no evaluation


def test_a_category_answered_zero_is_no_event_and_unreadable_answers_are_reported(settings, judge, chdb_store):
    migrate(chdb_store)
    judge.configure({"rules": [{"match": r"the event 'answer quality'", "answer": "great"}]})
    tag = settings.topic_prefix
    engine = EvaluationEngine(settings, llm_config(judge, extra=EVENTS), f"evaluation-{tag}")
    engine.start()
    run_stages(settings, [task(f"{tag}1", 0, session=tag, text="Hello there")], engine, rounds=2)
    engine.close()
    sink_all(settings.bootstrap, chdb_store, Topics(tag))
    assert chdb_store.query("SELECT count() FROM phospho.events WHERE session_id = {s:String}",
                            {"s": tag}).rows == [(0,)]  # No (P=0.1), category 0, no system prompt
    ((errors, flag),) = chdb_store.query("SELECT llm_errors, flag FROM phospho.tasks WHERE session_id = {s:String}",
                                         {"s": tag}).rows
    assert flag == "success"
    assert errors == ["answer quality: unreadable answer, twice: the answer is not a whole number between 1 and 5: "
                      "'great'; then the answer is not a whole number between 1 and 5: 'great'"]
