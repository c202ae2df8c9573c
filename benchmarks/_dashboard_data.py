"""Synthetic storage rows for benchmarks/dashboard.py: the task, session-window and feedback rows
of benchmarks/_pipeline_child.py's generator (sessions of 1-9 tasks, ~S/10 users, 10 % of tasks
with feedback), plus 0-3 spans per task (a retrieval step, an LLM call, a tool call), written
straight into the storage tables with INSERT ... SELECT FROM numbers()."""

from __future__ import annotations

import time
from typing import Any

from _pipeline_child import T0, _gen_sql  # benchmarks/ is on sys.path when a script runs

__all__ = ["load_rows"]

_STEPS = "['retriever.search', 'openai.chat', 'tool.lookup_order']"


def _span_sql(s_from: int, s_count: int) -> str:
    """Spans of sessions [s_from, s_from + s_count): task (s, k) gets cityHash64(s, k, 8) % 4
    steps, one after the other inside the task's minute; step 2 is the LLM call."""
    users = max(1, (s_from + s_count) // 10)
    task_id = "concat('task-', hex(cityHash64(s, k)))"
    return f"""INSERT INTO phospho.span_rows (event_id, project_id, trace_id, span_id, parent_span_id, name, kind,
            task_id, session_id, user_id, link_method, step_index, start_time_ms, end_time_ms, duration_us, status_code,
            status_message, operation, provider, request_model, response_model, input_tokens, output_tokens,
            input_text, output_text, attributes, attributes_json, errors, orphan, version)
        SELECT generateUUIDv4()::String, 'bench-insights', lower(hex(cityHash64(s, k, 9))) || lower(hex(cityHash64(s, k, 10))),
            lower(hex(cityHash64(s, k, 11, i))), NULL, arrayElement({_STEPS}, i), 'INTERNAL', {task_id},
            concat('chat-', toString(s)), uid, 'context', toInt32(i - 1), ts, ts + dur, dur * 1000,
            if(cityHash64(s, k, i, 12) % 50 = 0, 'ERROR', 'OK'), NULL,
            if(i = 2, 'chat', NULL), if(i = 2, 'openai', NULL), if(i = 2, 'gpt-4o-mini', NULL), if(i = 2, 'gpt-4o-mini', NULL),
            if(i = 2, toInt64(20 + cityHash64(s, k, 3) % 200), NULL), if(i = 2, toInt64(50 + cityHash64(s, k, 4) % 400), NULL),
            'step input', 'step output', map(), '{{}}', [], false, 1
        FROM (SELECT number AS s, 1 + cityHash64(number) % 9 AS L,
                  concat('user-', toString(cityHash64(number, 1) % {users})) AS uid, {T0 * 1000} + toInt64(number) * 40000 AS t0
              FROM numbers({s_from}, {s_count}))
        ARRAY JOIN range(L) AS k
        ARRAY JOIN range(1, 1 + toUInt8(cityHash64(s, k, 8) % 4)) AS i
        ARRAY JOIN [toInt64(50 + cityHash64(s, k, i, 13) % 1500)] AS dur
        ARRAY JOIN [t0 + k * 60000 + (i - 1) * 2000] AS ts"""


_NO_SPANS = "'0.1.0', 0, 0, [], 0, 0, 0, 0, 1"
# the span summary the worker writes on a task row (span_count .. llm_wall_ms), matching _span_sql
_SPAN_SUMMARY = """'0.1.0', toUInt32(cityHash64(s, k, 8) % 4), toUInt32(cityHash64(s, k, 8) % 4 >= 2),
            if(cityHash64(s, k, 8) % 4 >= 2, ['gpt-4o-mini'], []),
            if(cityHash64(s, k, 8) % 4 >= 2, toInt64(20 + cityHash64(s, k, 3) % 200), 0),
            if(cityHash64(s, k, 8) % 4 >= 2, toInt64(50 + cityHash64(s, k, 4) % 400), 0),
            if(cityHash64(s, k, 8) % 4 >= 2, toInt64(50 + cityHash64(s, k, 2, 13) % 1500), 0),
            if(cityHash64(s, k, 8) % 4 >= 2, toInt64(50 + cityHash64(s, k, 2, 13) % 1500), 0), 1"""


def _task_sql(sql: str) -> str:
    """_pipeline_child's task rows, with the span summary of the spans generated here."""
    if _NO_SPANS not in sql:
        raise RuntimeError("benchmarks/_pipeline_child.py's task generator changed: update _dashboard_data._task_sql")
    return sql.replace(_NO_SPANS, _SPAN_SUMMARY)


def load_rows(store: Any, tasks: int, chunk_sessions: int = 200_000, say=print) -> dict[str, Any]:
    """Generate about `tasks` tasks (mean 5 per session) into a migrated store; returns counts."""
    sessions = max(1, tasks // 5)
    t0 = time.perf_counter()
    done = 0
    while done < sessions:
        n = min(chunk_sessions, sessions - done)
        tasks, windows, feedback = _gen_sql(done, n)
        for sql in (_task_sql(tasks), windows, feedback, _span_sql(done, n)):
            store.command(sql)
        done += n
        say(f"dashboard data: {done:,} of {sessions:,} sessions generated")
    counts = store.query("""SELECT (SELECT count() FROM phospho.task_rows), (SELECT count() FROM phospho.session_windows),
        (SELECT count() FROM phospho.feedback_rows), (SELECT count() FROM phospho.span_rows)""").rows[0]
    return {"task_rows": int(counts[0]), "session_windows": int(counts[1]), "feedback_rows": int(counts[2]),
            "span_rows": int(counts[3]), "generate_seconds": time.perf_counter() - t0}
