"""The migrations on chDB (a store shared with other tests: each query keeps to its own rows): the analysts' views show each task, span, session, user, feedback and
dead letter once, with the newest version of each row, whatever was written twice, out of
order, or tombstoned; feedback counts come from the rows the workers write."""

from __future__ import annotations

import pytest

from phospho_sinks import migrate

from tests.support.store_rows import S, feedback, span, task, window


@pytest.fixture(scope="module")
def store(chdb_store):
    migrate(chdb_store)
    s = chdb_store
    s.insert_json_rows("phospho.task_rows", [
        task("t1", "ann", "chat-1", "s:chat-1|t1", 0, 10, 2, span_count=1, llm_call_count=1, span_models=["gpt-4o-mini"],
             feedback_flag="failure", feedback_notes="note f2"),  # its latest feedback, as the worker writes it
        task("t2", "ann", "chat-1", "s:chat-1|t1", 60 * S, 5, 1),
        task("t3", "bob", "session_x", "u:bob|t3", 0, None, 1, feedback_flag="success", feedback_notes="note f3"),
    ])
    s.insert_json_rows("phospho.task_rows", [task("t1", "ann", "chat-1", "s:chat-1|t1", 0, 10, 1)])  # older, later
    s.insert_json_rows("phospho.feedback_rows", [
        feedback("f1", "t1", "success", 100, "chat-1", "ann"), feedback("f2", "t1", "failure", 200, "chat-1", "ann"),
        feedback("f3", "t3", "success", 50, "session_x", "bob"), feedback("f4", "tx", "failure", 70, orphan=True)])
    s.insert_json_rows("phospho.feedback_rows", [feedback("f3", "t3", "success", 50, "session_x", "bob")])  # re-delivered
    s.insert_json_rows("phospho.session_windows", [
        window("s:chat-1|t1", "chat-1", "ann", 0, 60 * S, 2, "input of t2", 2, failures=1),
        window("s:chat-1|t2", "chat-1", "ann", 60 * S, 60 * S, 1, "input of t2", 1),
        window("u:bob|t3", "session_x", "bob", 0, 0, 1, "input of t3", 1, successes=1, tokens=0)])
    s.insert_json_rows("phospho.session_windows", [
        window("s:chat-1|t1", "chat-1", "ann", 0, 0, 1, "input of t1", 1),  # an older version, written late
        window("s:chat-1|t2", "chat-1", "ann", 60 * S, 60 * S, 1, "input of t2", 3, deleted=1)])  # merged away
    s.insert_json_rows("phospho.span_rows", [span(2, False, "chat-1")])
    s.insert_json_rows("phospho.span_rows", [span(1, True, None)])
    dead = {"topic": "phospho.tasks", "partition": 0, "offset": 7, "key_base64": None, "value_base64": "AAEC",
            "reason": "not a phospho event", "received_at_ms": 1}
    s.insert_json_rows("phospho.dead_letter_rows", [dead, dead])
    return s


def test_tasks_once_newest_version_with_latest_feedback(store):
    rows = store.query("SELECT task_id, span_count, feedback_flag, feedback_notes, toUnixTimestamp64Milli(created_at) AS at "
                       "FROM phospho.tasks WHERE task_id IN ('t1', 't2', 't3') ORDER BY task_id").rows
    assert rows == [("t1", 1, "failure", "note f2", 0), ("t2", 0, None, None, 60 * S), ("t3", 0, "success", "note f3", 0)]


def test_sessions_drop_tombstones_and_count_feedback_through_tasks(store):
    rows = store.query("SELECT window_id, task_count, last_input, duration_s, success_count, failure_count "
                       "FROM phospho.sessions WHERE window_id IN ('s:chat-1|t1', 's:chat-1|t2', 'u:bob|t3') ORDER BY window_id").rows
    assert rows == [("s:chat-1|t1", 2, "input of t2", 60, 0, 1), ("u:bob|t3", 1, "input of t3", 0, 1, 0)]


def test_users_aggregate_tasks_sessions_tokens_and_feedback(store):
    rows = store.query("SELECT user_id, task_count, session_count, avg_session_tasks, avg_session_duration_s, total_tokens, "
                       "success_count, failure_count, success_ratio FROM phospho.users WHERE user_id IN ('ann', 'bob') ORDER BY user_id").rows
    assert rows == [("ann", 2, 1, 2.0, 60.0, 15, 0, 1, 0.0), ("bob", 1, 1, 1.0, 0.0, 0, 1, 0, 1.0)]


def test_feedback_once_linked_through_its_task_or_orphan(store):
    rows = store.query("SELECT feedback_id, task_id, session_id, user_id, flag, orphan FROM phospho.feedback WHERE feedback_id IN ('f1', 'f2', 'f3', 'f4') ORDER BY feedback_id").rows
    assert rows == [("f1", "t1", "chat-1", "ann", "success", False), ("f2", "t1", "chat-1", "ann", "failure", False),
                    ("f3", "t3", "session_x", "bob", "success", False), ("f4", "tx", None, None, "failure", True)]


def test_spans_and_dead_letters_once(store):
    assert store.query("SELECT span_id, orphan, session_id, duration_ms FROM phospho.spans WHERE span_event_id = 's1'").rows == [("1" * 16, False, "chat-1", 250)]
    assert store.query("SELECT topic, offset, reason FROM phospho.dead_letters WHERE offset = 7").rows == [("phospho.tasks", 7, "not a phospho event")]


def test_migrating_again_changes_nothing(store):
    assert migrate(store) == []
    assert store.query("SELECT count() FROM phospho.tasks WHERE task_id IN ('t1', 't2', 't3')").rows == [(3,)]


def test_every_insight_runs_on_the_views(store):
    from phospho_stream.read import INSIGHTS, insight_results, render_insights, store_reader

    results = insight_results(store_reader(store))
    assert [title for title, _ in results] == [title for title, _ in INSIGHTS]
    assert all(result.columns for _, result in results)
    text = render_insights(results)
    assert "== Messages that end sessions ==" in text and "input of t2" in text
    assert "== Struggling users" in text and "ann" in text
