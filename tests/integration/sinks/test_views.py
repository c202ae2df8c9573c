"""The migrations on chDB (a store shared with other tests: each query keeps to its own rows): the
analysts' views show each task, span, session, user, feedback, event and dead letter once; a
task's partial rows from each stage merge into one row whatever their order; versioned rows
keep their newest version, and tombstones retract."""

from __future__ import annotations

import pytest

from phospho_sinks import migrate

from tests.support.store_rows import S, event, feedback, span, task, window, write


@pytest.fixture(scope="module")
def store(chdb_store):
    migrate(chdb_store)
    s = chdb_store
    write(s, "tasks", [
        {"task_id": "t1", "feedback_flag": "failure", "feedback_notes": "note f2"},  # a partial row before its task
        task("t1", "ann", "chat-1", "s:chat-1|t1", 0, 10),
        {"task_id": "t1", "span_count": 1, "llm_call_count": 1, "span_models": '["gpt-4o-mini"]'},
        task("t2", "ann", "chat-1", "s:chat-1|t1", 60 * S, 5),
        task("t3", "bob", "session_x", "u:bob|t3", 0, None, feedback_flag="success", feedback_notes="note f3"),
    ])
    write(s, "tasks", [{"task_id": "t2", "language": "fr", "sentiment_score": -0.6, "sentiment_label": "negative",
                        "events": '["refund"]', "cost_usd": 0.002, "analytics_version": "cfg1"},
                       {"task_id": "t1", "window_id": "s:chat-1|t1"}])
    write(s, "feedback", [
        feedback("f1", "t1", "success", 100, "chat-1", "ann"), feedback("f2", "t1", "failure", 200, orphan=True),
        feedback("f3", "t3", "success", 50, "session_x", "bob"), feedback("f4", "tx", "failure", 70, orphan=True)])
    write(s, "feedback", [{"event_id": "f2", "session_id": "chat-1", "user_id": "ann", "orphan": False}])  # linked later
    write(s, "sessions", [
        window("s:chat-1|t1", "chat-1", "ann", 0, 60 * S, 2, "input of t2", 2, failures=1, languages={"fr": 1},
               sentiment_sum=-0.6, sentiment_count=1, sentiment_min=-0.6, event_counts={"refund": 1}, cost_usd=0.002),
        window("s:chat-1|t2", "chat-1", "ann", 60 * S, 60 * S, 1, "input of t2", 1),
        window("u:bob|t3", "session_x", "bob", 0, 0, 1, "input of t3", 1, successes=1, tokens=0)])
    write(s, "sessions", [
        window("s:chat-1|t1", "chat-1", "ann", 0, 0, 1, "input of t1", 1),  # an older version, written late
        window("s:chat-1|t2", "chat-1", "ann", 60 * S, 60 * S, 1, "input of t2", 3, deleted=1)])  # merged away
    write(s, "spans", [span("t1", None), span(None, None, event_id="s2"), {"event_id": "s1", "session_id": "chat-1"}])
    write(s, "events", [event("t2", "refund", 1), event("t2", "frustration", 1), event("t2", "frustration", 2, deleted=1)])
    dead = {"topic": "phospho.tasks", "partition": 0, "offset": 7, "key_base64": None, "value_base64": "AAEC",
            "reason": "not a phospho event", "received_at_ms": 1}
    write(s, "dead_letters", [dead, dead])
    return s


def test_a_tasks_partial_rows_merge_into_one_row(store):
    rows = store.query("SELECT task_id, session_window_id, span_count, span_models, feedback_flag, feedback_notes, "
                       "toUnixTimestamp64Milli(created_at) AS at, metadata['channel'] AS channel "
                       "FROM phospho.tasks WHERE task_id IN ('t1', 't2', 't3') ORDER BY task_id").rows
    assert rows == [("t1", "s:chat-1|t1", 1, ["gpt-4o-mini"], "failure", "note f2", 0, "web"),
                    ("t2", "s:chat-1|t1", 0, [], None, None, 60 * S, "web"),
                    ("t3", "u:bob|t3", 0, [], "success", "note f3", 0, "web")]


def test_a_tasks_analysis_columns(store):
    rows = store.query("SELECT task_id, language, sentiment_label, events, cost_usd, analyzed FROM phospho.tasks "
                       "WHERE task_id IN ('t1', 't2') ORDER BY task_id").rows
    assert rows == [("t1", "", None, [], None, False), ("t2", "fr", "negative", ["refund"], 0.002, True)]


def test_a_partial_row_alone_is_no_task(store):
    write(store, "tasks", [{"task_id": "only-feedback", "feedback_flag": "success"}])
    assert store.query("SELECT count() FROM phospho.tasks WHERE task_id = 'only-feedback'").rows == [(0,)]


def test_sessions_drop_tombstones_and_keep_the_newest_version(store):
    rows = store.query("SELECT window_id, task_count, last_input, duration_s, success_count, failure_count, language, "
                       "sentiment_mean, event_counts FROM phospho.sessions "
                       "WHERE window_id IN ('s:chat-1|t1', 's:chat-1|t2', 'u:bob|t3') ORDER BY window_id").rows
    assert rows == [("s:chat-1|t1", 2, "input of t2", 60, 0, 1, "fr", -0.6, {"refund": 1}),
                    ("u:bob|t3", 1, "input of t3", 0, 1, 0, "", None, {})]


def test_users_aggregate_their_sessions(store):
    rows = store.query("SELECT user_id, task_count, session_count, avg_session_tasks, avg_session_duration_s, "
                       "total_tokens, success_count, failure_count, success_ratio, cost_usd, event_counts "
                       "FROM phospho.users WHERE user_id IN ('ann', 'bob') ORDER BY user_id").rows
    assert rows == [("ann", 2, 1, 2.0, 60.0, 15, 0, 1, 0.0, 0.002, {"refund": 1}),
                    ("bob", 1, 1, 1.0, 0.0, 0, 1, 0, 1.0, 0.0, {})]


def test_feedback_once_and_linked_when_its_task_came(store):
    rows = store.query("SELECT feedback_id, task_id, session_id, user_id, flag, orphan FROM phospho.feedback "
                       "WHERE feedback_id IN ('f1', 'f2', 'f3', 'f4') ORDER BY feedback_id").rows
    assert rows == [("f1", "t1", "chat-1", "ann", "success", False), ("f2", "t1", "chat-1", "ann", "failure", False),
                    ("f3", "t3", "session_x", "bob", "success", False), ("f4", "tx", None, None, "failure", True)]


def test_events_spans_and_dead_letters_once(store):
    assert store.query("SELECT task_id, event_name FROM phospho.events WHERE task_id = 't2' ORDER BY event_name").rows == [
        ("t2", "refund")]
    assert store.query("SELECT span_event_id, orphan, session_id, duration_ms, attributes FROM phospho.spans "
                       "WHERE span_event_id IN ('s1', 's2') ORDER BY span_event_id").rows == [
        ("s1", False, "chat-1", 250, {"gen_ai.system": "openai"}), ("s2", True, None, 250, {"gen_ai.system": "openai"})]
    assert store.query("SELECT topic, offset, reason FROM phospho.dead_letters WHERE offset = 7").rows == [
        ("phospho.tasks", 7, "not a phospho event")]


def test_migrating_again_changes_nothing(store):
    assert migrate(store) == []
    assert store.query("SELECT count() FROM phospho.tasks WHERE task_id IN ('t1', 't2', 't3')").rows == [(3,)]


def test_every_insight_runs_on_the_views(store):
    from phospho_sinks import read_only_query
    from phospho_stream.read import INSIGHTS, insight_results, render_insights, store_reader

    for title, sql in INSIGHTS:
        result = read_only_query(store, sql)
        assert result.columns, title
    text = render_insights(insight_results(store_reader(store)))
    assert "== Messages that end sessions ==" in text and "input of t2" in text
    assert "== Struggling users" in text and "ann" in text
