"""Migration 1 on chDB: the analysts' views show each task, span, session, user, feedback and
dead letter once, with the newest version of each row, whatever was written twice, out of
order, or tombstoned; feedback counts join through tasks to sessions and users."""

from __future__ import annotations

import pytest

from phospho_sinks import migrate

S = 1000


def task(task_id, user, session, window, at_ms, tokens, version, **extra):
    row = {
        "task_id": task_id, "event_id": f"e-{task_id}-{version}", "project_id": "p", "session_id": session,
        "session_id_generated": session.startswith("session_"), "session_key": window.split("|")[0], "window_id": window,
        "user_id": user, "version_id": "v1", "created_at_ms": at_ms, "client_created_at_ms": at_ms, "last_update_ms": None,
        "sent_at_ms": at_ms + 5, "input": f"input of {task_id}", "output": "out", "system_prompt": None, "model": "gpt-4o-mini",
        "prompt_tokens": None, "completion_tokens": None, "total_tokens": tokens, "raw_input": None,
        "raw_input_type_name": "str", "raw_output": None, "raw_output_type_name": "str", "metadata": {"channel": "web"},
        "metadata_json": '{"channel":"web"}', "stream": False, "errors": [], "sdk_version": "0.1.0", "span_count": 0,
        "llm_call_count": 0, "span_models": [], "span_input_tokens": 0, "span_output_tokens": 0, "llm_latency_ms": 0,
        "llm_wall_ms": 0, "version": version,
    }
    return {**row, **extra}


def feedback(event_id, task_id, flag, at_ms):
    return {"event_id": event_id, "project_id": "p", "task_id": task_id, "session_id": None, "user_id": None, "flag": flag,
            "raw_flag": None, "notes": f"note {event_id}", "source": "user", "created_at_ms": at_ms, "errors": [],
            "orphan": False, "version": 1}


def window(window_id, session, user, start, end, count, last_input, version, deleted=0):
    return {"window_id": window_id, "session_key": window_id.split("|")[0], "session_id": session, "user_id": user,
            "start_ms": start, "end_ms": end, "duration_ms": end - start, "task_count": count, "first_input": "input of t1",
            "last_input": last_input, "total_tokens": 15, "version": version, "is_deleted": deleted}


def span(version, orphan, session):
    return {"event_id": "s1", "project_id": "p", "trace_id": "0" * 32, "span_id": "1" * 16, "parent_span_id": None,
            "name": "openai.chat", "kind": "CLIENT", "task_id": "t1", "session_id": session, "user_id": None, "link_method": "context",
            "step_index": None, "start_time_ms": 10, "end_time_ms": 260, "duration_us": 250_000, "status_code": "OK",
            "status_message": None, "operation": "chat", "provider": "openai", "request_model": "gpt-4o-mini",
            "response_model": "gpt-4o-mini", "input_tokens": 12, "output_tokens": 3, "input_text": "hi", "output_text": "yo",
            "attributes": {"gen_ai.system": "openai"}, "attributes_json": "{}", "errors": [], "orphan": orphan, "version": version}


@pytest.fixture(scope="module")
def store(chdb_store):
    migrate(chdb_store)
    s = chdb_store
    s.insert_json_rows("phospho.task_rows", [
        task("t1", "ann", "chat-1", "s:chat-1|t1", 0, 10, 2, span_count=1, llm_call_count=1, span_models=["gpt-4o-mini"]),
        task("t2", "ann", "chat-1", "s:chat-1|t1", 60 * S, 5, 1),
        task("t3", "bob", "session_x", "u:bob|t3", 0, None, 1),
    ])
    s.insert_json_rows("phospho.task_rows", [task("t1", "ann", "chat-1", "s:chat-1|t1", 0, 10, 1)])  # older, later
    s.insert_json_rows("phospho.feedback_rows", [
        feedback("f1", "t1", "success", 100), feedback("f2", "t1", "failure", 200), feedback("f3", "t3", "success", 50),
        feedback("f4", "tx", "failure", 70)])
    s.insert_json_rows("phospho.feedback_rows", [feedback("f3", "t3", "success", 50)])  # re-delivered
    s.insert_json_rows("phospho.session_windows", [
        window("s:chat-1|t1", "chat-1", "ann", 0, 60 * S, 2, "input of t2", 2),
        window("s:chat-1|t2", "chat-1", "ann", 60 * S, 60 * S, 1, "input of t2", 1),
        window("u:bob|t3", "session_x", "bob", 0, 0, 1, "input of t3", 1)])
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
                       "FROM phospho.tasks ORDER BY task_id").rows
    assert rows == [("t1", 1, "failure", "note f2", 0), ("t2", 0, None, None, 60 * S), ("t3", 0, "success", "note f3", 0)]


def test_sessions_drop_tombstones_and_count_feedback_through_tasks(store):
    rows = store.query("SELECT window_id, task_count, last_input, duration_s, success_count, failure_count "
                       "FROM phospho.sessions ORDER BY window_id").rows
    assert rows == [("s:chat-1|t1", 2, "input of t2", 60, 0, 1), ("u:bob|t3", 1, "input of t3", 0, 1, 0)]


def test_users_aggregate_tasks_sessions_tokens_and_feedback(store):
    rows = store.query("SELECT user_id, task_count, session_count, avg_session_tasks, avg_session_duration_s, total_tokens, "
                       "success_count, failure_count, success_ratio FROM phospho.users ORDER BY user_id").rows
    assert rows == [("ann", 2, 1, 2.0, 60.0, 15, 0, 1, 0.0), ("bob", 1, 1, 1.0, 0.0, 0, 1, 0, 1.0)]


def test_feedback_once_linked_through_its_task_or_orphan(store):
    rows = store.query("SELECT feedback_id, task_id, session_id, user_id, flag, orphan FROM phospho.feedback ORDER BY feedback_id").rows
    assert rows == [("f1", "t1", "chat-1", "ann", "success", False), ("f2", "t1", "chat-1", "ann", "failure", False),
                    ("f3", "t3", "session_x", "bob", "success", False), ("f4", "tx", None, None, "failure", True)]


def test_spans_and_dead_letters_once(store):
    assert store.query("SELECT span_id, orphan, session_id, duration_ms FROM phospho.spans").rows == [("1" * 16, False, "chat-1", 250)]
    assert store.query("SELECT topic, offset, reason FROM phospho.dead_letters").rows == [("phospho.tasks", 7, "not a phospho event")]


def test_migrating_again_changes_nothing(store):
    assert migrate(store) == []
    assert store.query("SELECT count() FROM phospho.tasks").rows == [(3,)]
