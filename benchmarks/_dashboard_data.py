"""Synthetic storage rows for benchmarks/dashboard.py: the task, session-window and feedback rows
of benchmarks/_pipeline_child.py's generator (sessions of 1-9 tasks, ~S/10 users, 10 % of tasks
with feedback), plus 0-3 steps per task (a retrieval, an LLM call, a tool call) written as
span rows, and each task row's span summary set to match (one ALTER ... UPDATE); then one long
session (LONG_SESSION_TASKS tasks of one user, each with 3 steps, in the middle of the time
range, written last: in parts of their own, as a live session's rows are). Everything is written straight into the storage tables with
INSERT ... SELECT FROM numbers()."""

from __future__ import annotations

import time
from typing import Any

from _pipeline_child import (  # benchmarks/ is on sys.path when a script runs
    T0,
    TASK_ROWS_INSERT,
    _gen_sql,
)

__all__ = ["load_rows", "LONG_SESSION_TASKS", "LONG_WINDOW", "LONG_USER"]

LONG_SESSION_TASKS = 300
LONG_USER, LONG_SESSION = "user-long-session", "chat-long-session"
LONG_WINDOW = f"s:{LONG_SESSION}|task-long-0000"

_STEPS = "['retriever.search', 'openai.chat', 'tool.lookup_order']"
# a task's steps and its LLM call's figures, from its task_id (so that the span rows and the
# task rows' summary agree without knowing how the task rows were generated)
_N = "cityHash64(task_id) % 4"
_IN_TOKENS = "toInt64(20 + cityHash64(task_id, 3) % 200)"
_OUT_TOKENS = "toInt64(50 + cityHash64(task_id, 4) % 400)"
_LLM_MS = "toInt64(50 + cityHash64(task_id, 13) % 1500)"


def _span_sql(s_from: int, s_count: int) -> str:
    """Spans of the tasks of sessions [s_from, s_from + s_count) (the task ids of _gen_sql): step i
    of a task starts 2 s after step i - 1, inside the task's minute; step 2 is the LLM call."""
    users = max(1, (s_from + s_count) // 10)
    return f"""INSERT INTO phospho.span_rows (event_id, project_id, trace_id, span_id, parent_span_id, name, kind,
            task_id, session_id, user_id, link_method, step_index, start_time_ms, end_time_ms, duration_us, status_code,
            status_message, operation, provider, request_model, response_model, input_tokens, output_tokens,
            input_text, output_text, attributes, attributes_json, errors, orphan, version)
        SELECT generateUUIDv4()::String, 'bench-insights', lower(hex(cityHash64(task_id, 9))) || lower(hex(cityHash64(task_id, 10))),
            lower(hex(cityHash64(task_id, 11, i))), NULL, arrayElement({_STEPS}, i), 'INTERNAL', task_id,
            concat('chat-', toString(s)), uid, 'context', toInt32(i - 1), ts, ts + dur, dur * 1000,
            if(cityHash64(task_id, i, 12) % 50 = 0, 'ERROR', 'OK'), NULL,
            if(i = 2, 'chat', NULL), if(i = 2, 'openai', NULL), if(i = 2, 'gpt-4o-mini', NULL), if(i = 2, 'gpt-4o-mini', NULL),
            if(i = 2, {_IN_TOKENS}, NULL), if(i = 2, {_OUT_TOKENS}, NULL), 'step input', 'step output', map(), '{{}}', [], false, 1
        FROM (SELECT number AS s, 1 + cityHash64(number) % 9 AS L,
                  concat('user-', toString(cityHash64(number, 1) % {users})) AS uid, {T0 * 1000} + toInt64(number) * 40000 AS t0
              FROM numbers({s_from}, {s_count}))
        ARRAY JOIN range(L) AS k
        ARRAY JOIN [concat('task-', hex(cityHash64(s, k)))] AS task_id
        ARRAY JOIN range(1, 1 + toUInt8({_N})) AS i
        ARRAY JOIN [if(i = 2, {_LLM_MS}, toInt64(50 + cityHash64(task_id, i, 13) % 1500))] AS dur
        ARRAY JOIN [t0 + k * 60000 + (i - 1) * 2000] AS ts"""


_SUMMARY = f"""ALTER TABLE phospho.task_rows UPDATE span_count = toUInt32({_N}), llm_call_count = toUInt32({_N} >= 2),
    span_models = if({_N} >= 2, ['gpt-4o-mini'], []), span_input_tokens = if({_N} >= 2, {_IN_TOKENS}, 0),
    span_output_tokens = if({_N} >= 2, {_OUT_TOKENS}, 0), llm_latency_ms = if({_N} >= 2, {_LLM_MS}, 0),
    llm_wall_ms = if({_N} >= 2, {_LLM_MS}, 0) WHERE 1 SETTINGS mutations_sync = 2"""


def _long_session_sql(n: int, t0_ms: int) -> list[str]:
    """One session of `n` tasks (an agent conversation: a task every 30 s, each with a
    retrieval, an LLM call and a tool call, a few hundred characters in and out), its window,
    and its spans."""
    task_id = "concat('task-long-', leftPad(toString(k), 4, '0'))"
    tasks = f"""{TASK_ROWS_INSERT}
        SELECT {task_id}, generateUUIDv4()::String, 'bench-insights', '{LONG_SESSION}', false, 's:{LONG_SESSION}',
            '{LONG_WINDOW}', '{LONG_USER}', '20251113_bench', {t0_ms} + k * 30000, {t0_ms} + k * 30000, NULL,
            {t0_ms} + k * 30000 + 20, concat('Step ', toString(k), ' of the migration: ', repeat('what about the next table? ', 8)),
            concat('Here is the plan for step ', toString(k), ': ', repeat('copy the rows, check the counts, switch the reads. ', 12)),
            'You are a careful database assistant.', NULL, 300 + k % 50, 200 + k % 70, NULL, NULL, 'str', NULL, 'str',
            map('channel', 'api'), '{{"channel":"api"}}', false, [], '0.1.0', 3, 1, ['gpt-4o-mini'], 300 + k % 50,
            200 + k % 70, 900 + k % 400, 900 + k % 400, if(k % 10 = 0, if(k % 30 = 0, 'failure', 'success'), NULL), NULL, 1
        FROM (SELECT number AS k FROM numbers({n}))"""
    window = f"""INSERT INTO phospho.session_windows (window_id, session_key, session_id, user_id, start_ms, end_ms,
            duration_ms, task_count, first_input, last_input, total_tokens, success_count, failure_count, version, is_deleted)
        VALUES ('{LONG_WINDOW}', 's:{LONG_SESSION}', '{LONG_SESSION}', '{LONG_USER}', {t0_ms}, {t0_ms + (n - 1) * 30000},
            {(n - 1) * 30000}, {n}, 'Step 0 of the migration', 'Step {n - 1} of the migration',
            {sum(500 + k % 50 + k % 70 for k in range(n))},
            {len([k for k in range(0, n, 10) if k % 30])}, {len(range(0, n, 30))}, {n}, 0)"""
    spans = f"""INSERT INTO phospho.span_rows (event_id, project_id, trace_id, span_id, parent_span_id, name, kind,
            task_id, session_id, user_id, link_method, step_index, start_time_ms, end_time_ms, duration_us, status_code,
            status_message, operation, provider, request_model, response_model, input_tokens, output_tokens,
            input_text, output_text, attributes, attributes_json, errors, orphan, version)
        SELECT generateUUIDv4()::String, 'bench-insights', lower(hex(cityHash64(task_id, 9))) || lower(hex(cityHash64(task_id, 10))),
            lower(hex(cityHash64(task_id, 11, i))), NULL, arrayElement({_STEPS}, i), 'INTERNAL', task_id, '{LONG_SESSION}',
            '{LONG_USER}', 'context', toInt32(i - 1), ts, ts + 900, 900000, 'OK', NULL,
            if(i = 2, 'chat', NULL), if(i = 2, 'openai', NULL), if(i = 2, 'gpt-4o-mini', NULL), if(i = 2, 'gpt-4o-mini', NULL),
            if(i = 2, toInt64(300 + k % 50), NULL), if(i = 2, toInt64(200 + k % 70), NULL),
            repeat('step input ', 40), repeat('step output ', 60), map(), '{{}}', [], false, 1
        FROM (SELECT number AS k FROM numbers({n})) ARRAY JOIN [{task_id}] AS task_id
        ARRAY JOIN range(1, 4) AS i ARRAY JOIN [{t0_ms} + k * 30000 - 3000 + (i - 1) * 1000] AS ts"""
    return [tasks, window, spans]


def load_rows(store: Any, tasks: int, chunk_sessions: int = 200_000, say=print) -> dict[str, Any]:
    """Generate about `tasks` tasks (mean 5 per session) and the long session into a migrated
    store; returns counts."""
    sessions = max(1, tasks // 5)
    t0 = time.perf_counter()
    done = 0
    while done < sessions:
        n = min(chunk_sessions, sessions - done)
        for sql in [*_gen_sql(done, n), _span_sql(done, n)]:
            store.command(sql)
        done += n
        say(f"dashboard data: {done:,} of {sessions:,} sessions generated")
    store.command(_SUMMARY)
    first, last = store.query("SELECT min(created_at_ms), max(created_at_ms) FROM phospho.task_rows").rows[0]
    for sql in _long_session_sql(LONG_SESSION_TASKS, (int(first) + int(last)) // 2):  # amid the others, not the newest
        store.command(sql)
    say(f"dashboard data: a session of {LONG_SESSION_TASKS} tasks with steps added")
    counts = store.query("""SELECT (SELECT count() FROM phospho.task_rows), (SELECT count() FROM phospho.session_windows),
        (SELECT count() FROM phospho.feedback_rows), (SELECT count() FROM phospho.span_rows)""").rows[0]
    return {"task_rows": int(counts[0]), "session_windows": int(counts[1]), "feedback_rows": int(counts[2]),
            "span_rows": int(counts[3]), "generate_seconds": time.perf_counter() - t0}
