"""Rows of the storage tables as the stages emit them (phospho_schemas.rows), for store, sink and
dashboard tests, and a helper to write them."""

from __future__ import annotations

from typing import Any

from phospho_schemas.rows import STORE_DATABASE
from phospho_sinks import json_lines

S = 1000


def write(store: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows into phospho_store.<table>, as the sink writes them."""
    store.insert_json(f"{STORE_DATABASE}.{table}", json_lines(rows))


def task(task_id, user, session, window, at_ms, tokens, **extra):
    """A task's own row with its window id (the core's and the session rules' columns)."""
    row = {
        "task_id": task_id, "event_id": f"e-{task_id}", "project_id": "p", "session_id": session,
        "session_id_generated": session.startswith("session_"), "session_key": window.split("|")[0], "window_id": window,
        "user_id": user, "version_id": "v1", "created_at_ms": at_ms, "client_created_at_ms": at_ms,
        "last_update_ms": None, "sent_at_ms": at_ms + 5, "input": f"input of {task_id}", "output": "out",
        "system_prompt": None, "model": "gpt-4o-mini", "prompt_tokens": None, "completion_tokens": None,
        "total_tokens": tokens, "raw_input": None, "raw_input_type_name": "str", "raw_output": None,
        "raw_output_type_name": "str", "metadata": '{"channel":"web"}', "metadata_json": '{"channel":"web"}',
        "stream": False, "errors": "[]", "sdk_version": "0.1.0",
    }
    return {**row, **extra}


def feedback(event_id, task_id, flag, at_ms, session=None, user=None, orphan=False):
    return {"event_id": event_id, "project_id": "p", "task_id": task_id, "session_id": session, "user_id": user,
            "flag": flag, "raw_flag": None, "notes": f"note {event_id}", "source": "user", "created_at_ms": at_ms,
            "errors": "[]", "orphan": orphan}


def window(window_id, session, user, start, end, count, last_input, version, deleted=0, successes=0, failures=0,
           tokens=15, **extra):
    row = {"window_id": window_id, "session_key": window_id.split("|")[0], "session_id": session, "user_id": user,
           "start_ms": start, "end_ms": end, "duration_ms": end - start, "task_count": count,
           "first_input": "input of t1", "last_input": last_input, "total_tokens": tokens, "success_count": successes,
           "failure_count": failures, "tasks_with_errors": 0, "languages": {}, "sentiment_sum": 0.0,
           "sentiment_count": 0, "sentiment_min": None, "event_counts": {}, "cost_usd": 0.0, "analyzed_count": 0,
           "version": version, "is_deleted": deleted}
    return {**row, **extra}


def span(task_id, session, event_id="s1"):
    return {"event_id": event_id, "project_id": "p", "trace_id": "0" * 32, "span_id": "1" * 16,
            "parent_span_id": None, "name": "openai.chat", "kind": "CLIENT", "task_id": task_id, "session_id": session,
            "user_id": None, "link_method": "context" if task_id else None, "step_index": None, "start_time_ms": 10,
            "end_time_ms": 260, "duration_us": 250_000, "status_code": "OK", "status_message": None,
            "operation": "chat", "provider": "openai", "request_model": "gpt-4o-mini",
            "response_model": "gpt-4o-mini", "input_tokens": 12, "output_tokens": 3, "input_text": "hi",
            "output_text": "yo", "attributes": '{"gen_ai.system":"openai"}', "attributes_json": "{}", "errors": "[]"}


def event(task_id, name, version, session="chat-1", user="ann", deleted=0, source="keyword", at_ms=0):
    return {"task_id": task_id, "event_name": name, "source": source, "session_id": session, "user_id": user,
            "detection_scope": "task", "score": 1.0, "score_type": "confidence", "label": None,
            "analytics_version": "cfg1", "created_at_ms": at_ms, "detected_at_ms": at_ms + 10, "version": version,
            "is_deleted": deleted}
