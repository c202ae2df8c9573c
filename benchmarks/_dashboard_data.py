"""Synthetic storage rows for benchmarks/dashboard.py, written straight into migration 3's
`phospho_store` tables with INSERT ... SELECT FROM numbers(), as the stages write them:

- each session s has 1-9 tasks (mean 5), a minute or so apart, one user among ~S/10, one of two
  projects (a fifth of the sessions in the second);
- a task's core row (text, model, tokens, ~10 % feedback, ~1 % errors, 0-3 steps summarised),
  then, as separate partial rows (so FINAL merges them, as in a live store), the analytics
  columns (language among 9, VADER-like sentiment for English, 0-2 of 10 events, cost) and
  its session window id;
- its steps as span rows (a retrieval, an LLM call, a tool call), its feedback rows, its
  detections as event rows, and its session window with the analytics aggregates;
- then one long session (LONG_SESSION_TASKS tasks of one user, 3 steps each), amid the others.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["load_rows", "LONG_SESSION_TASKS", "LONG_WINDOW", "LONG_USER", "EVENTS", "PROJECTS"]

T0_MS = 1_763_000_000_000  # 2025-11-13
LONG_SESSION_TASKS = 300
LONG_USER, LONG_SESSION = "user-long-session", "chat-long-session"
LONG_WINDOW = f"s:{LONG_SESSION}|task-long-0000"
PROJECTS = ("bench-main", "bench-other")
EVENTS = ("refund request", "order number", "jailbreak attempt", "frustrated user", "assistant apology",
          "pricing question", "cancellation", "bug report", "praise", "human handoff")

_INPUTS = ["hi", "What is the refund policy?", "Can I change my order?", "thanks!", "Where is my parcel?",
           "How do I reset my password?", "Is there a student discount?", "ok bye", "Talk to a human please",
           "The app crashes when I upload a photo"]
_LANGS = "['en', 'en', 'en', 'en', 'fr', 'es', 'de', 'ja', 'zh', 'pt', '']"
_MODELS = "['gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet']"
_PRICES = "[0.15, 0.15, 2.5, 3.0]"  # USD per million tokens (one price for input and output, enough here)
_STEPS = "['retriever.search', 'openai.chat', 'tool.lookup_order']"


def _quoted(items: list[str] | tuple[str, ...]) -> str:
    return "[" + ",".join("'" + x.replace("'", "''") + "'" for x in items) + "]"


def _sessions(s_from: int, s_count: int) -> str:
    users = max(1, (s_from + s_count) // 10)
    return f"""(SELECT number AS s, 1 + cityHash64(number) % 9 AS L,
            concat('user-', toString(cityHash64(number, 1) % {users})) AS uid,
            if(cityHash64(number, 8) % 5 = 0, '{PROJECTS[1]}', '{PROJECTS[0]}') AS project,
            {T0_MS} + toInt64(number) * 40000 AS t0,
            concat('s:chat-', toString(number), '|task-', hex(cityHash64(number, 0))) AS win
        FROM numbers({s_from}, {s_count}))"""


# a task's figures from (s, k) and its task_id, so every table agrees without reading another
_TASK = "concat('task-', hex(cityHash64(s, k)))"
_N_STEPS = "toUInt8(cityHash64(task_id) % 4)"
_IN_TOKENS = "toInt64(20 + cityHash64(task_id, 3) % 200)"
_OUT_TOKENS = "toInt64(50 + cityHash64(task_id, 4) % 400)"
_LLM_MS = "toInt64(50 + cityHash64(task_id, 13) % 1500)"
_FLAG = "if(cityHash64(s, k, 7) % 10 = 0, if(cityHash64(s, k, 6) % 3 = 0, 'failure', 'success'), NULL)"
_LANG = f"arrayElement({_LANGS}, 1 + cityHash64(task_id, 20) % 11)"
_MODEL_I = "1 + cityHash64(task_id, 21) % 4"
_SCORE = "round((toFloat64(cityHash64(task_id, 22) % 200) - 100) / 100, 2)"
_EVENTS = (f"arrayFilter(e -> e != '', [if(cityHash64(task_id, 23) % 7 = 0, arrayElement({_quoted(EVENTS)}, "
           f"1 + cityHash64(task_id, 24) % 10), ''), if(cityHash64(task_id, 25) % 20 = 0, arrayElement("
           f"{_quoted(EVENTS)}, 1 + cityHash64(task_id, 26) % 10), '')])")


def _task_sql(s_from: int, s_count: int) -> list[str]:
    inputs = _quoted(_INPUTS)
    core = f"""INSERT INTO phospho_store.tasks (task_id, event_id, project_id, session_id, session_id_generated, session_key,
            user_id, version_id, created_at_ms, client_created_at_ms, sent_at_ms, input, output, model, prompt_tokens,
            completion_tokens, raw_input_type_name, raw_output_type_name, metadata, metadata_json, stream, errors,
            sdk_version, span_count, llm_call_count, span_models, span_input_tokens, span_output_tokens, llm_latency_ms,
            llm_wall_ms, feedback_flag, feedback_at_ms)
        SELECT task_id, generateUUIDv4()::String, project, concat('chat-', toString(s)), false, concat('s:chat-', toString(s)),
            uid, '20251113_bench', at, at, at + 20, arrayElement({inputs}, 1 + (s + k) % 10),
            concat('Sure, here is what I found about ', arrayElement({inputs}, 1 + (s + k + 3) % 10)),
            arrayElement({_MODELS}, {_MODEL_I}), 20 + cityHash64(s, k, 3) % 200, 50 + cityHash64(s, k, 4) % 400, 'str', 'str',
            '{{}}', '{{}}', false, if(cityHash64(s, k, 5) % 100 = 0, '["output: cut at max_field_chars"]', '[]'), '0.1.0',
            {_N_STEPS}, toUInt32({_N_STEPS} >= 2), if({_N_STEPS} >= 2, '["gpt-4o-mini"]', '[]'),
            if({_N_STEPS} >= 2, {_IN_TOKENS}, 0), if({_N_STEPS} >= 2, {_OUT_TOKENS}, 0), if({_N_STEPS} >= 2, {_LLM_MS}, 0),
            if({_N_STEPS} >= 2, {_LLM_MS}, 0), {_FLAG}, if({_FLAG} IS NULL, NULL, at + 5000)
        FROM {_sessions(s_from, s_count)} ARRAY JOIN range(L) AS k
        ARRAY JOIN [{_TASK}] AS task_id ARRAY JOIN [t0 + k * 60000 + cityHash64(s, k, 2) % 30000] AS at"""
    # the session half's partial row (window id) and the analytics stage's, as separate rows
    analysis = f"""INSERT INTO phospho_store.tasks (task_id, window_id, language, sentiment_score, sentiment_magnitude,
            sentiment_label, sentiment_method, events, cost_usd, cost_note, analytics_version, analyzed_at_ms)
        SELECT task_id, win, lang, if(lang = 'en', {_SCORE}, NULL), if(lang = 'en', abs({_SCORE}) * 2, NULL),
            if(lang = 'en', multiIf({_SCORE} > 0.3, 'positive', {_SCORE} < -0.3, 'negative', abs({_SCORE}) * 2 < 0.6, 'neutral', 'mixed'), NULL),
            if(lang = 'en', 'vader', 'unsupported_language'), toJSONString({_EVENTS}),
            (20 + cityHash64(s, k, 3) % 200 + 50 + cityHash64(s, k, 4) % 400) * arrayElement({_PRICES}, {_MODEL_I}) / 1e6,
            'genai-prices', 'r1-bench', t0 + k * 60000 + 40000
        FROM {_sessions(s_from, s_count)} ARRAY JOIN range(L) AS k
        ARRAY JOIN [{_TASK}] AS task_id ARRAY JOIN [{_LANG}] AS lang"""
    return [core, analysis]


def _derived_sql(s_from: int, s_count: int) -> list[str]:
    """Spans, feedback, event rows and session windows of the sessions [s_from, s_from + s_count),
    read back from the tasks just written (the store's FINAL rows)."""
    chunk = f"session_key IN (SELECT concat('s:chat-', toString(number)) FROM numbers({s_from}, {s_count}))"
    tasks = f"(SELECT * FROM phospho.tasks WHERE {chunk})"
    spans = f"""INSERT INTO phospho_store.spans (event_id, project_id, trace_id, span_id, name, kind, task_id, session_id,
            user_id, link_method, step_index, start_time_ms, end_time_ms, duration_us, status_code, operation, provider,
            request_model, response_model, input_tokens, output_tokens, input_text, output_text, attributes,
            attributes_json, errors)
        SELECT generateUUIDv4()::String, project_id, lower(hex(cityHash64(task_id, 9))) || lower(hex(cityHash64(task_id, 10))),
            lower(hex(cityHash64(task_id, 11, i))), arrayElement({_STEPS}, i), 'INTERNAL', task_id, session_id, user_id,
            'context', toInt32(i - 1), ts, ts + dur, dur * 1000, if(cityHash64(task_id, i, 12) % 50 = 0, 'ERROR', 'OK'),
            if(i = 2, 'chat', NULL), if(i = 2, 'openai', NULL), if(i = 2, 'gpt-4o-mini', NULL), if(i = 2, 'gpt-4o-mini', NULL),
            if(i = 2, {_IN_TOKENS}, NULL), if(i = 2, {_OUT_TOKENS}, NULL), 'step input', 'step output', '{{}}', '{{}}', '[]'
        FROM {tasks} ARRAY JOIN range(1, 1 + span_count) AS i
        ARRAY JOIN [if(i = 2, {_LLM_MS}, toInt64(50 + cityHash64(task_id, i, 13) % 1500))] AS dur
        ARRAY JOIN [toUnixTimestamp64Milli(created_at) - 6000 + (i - 1) * 2000] AS ts"""
    feedback = f"""INSERT INTO phospho_store.feedback (event_id, project_id, task_id, session_id, user_id, flag, source,
            created_at_ms, errors, orphan)
        SELECT generateUUIDv4()::String, project_id, task_id, session_id, user_id, feedback_flag, 'user',
            toUnixTimestamp64Milli(created_at) + 5000, '[]', false
        FROM {tasks} WHERE feedback_flag IS NOT NULL"""
    events = f"""INSERT INTO phospho_store.events (task_id, event_name, source, session_id, user_id, detection_scope, score,
            score_type, label, analytics_version, created_at_ms, detected_at_ms, version, is_deleted)
        SELECT task_id, e, if(e IN ('order number', 'jailbreak attempt'), 'regex', 'keyword'), session_id, user_id,
            if(e = 'frustrated user', 'session', 'task'), 1.0, 'confidence', NULL, 'r1-bench', toUnixTimestamp64Milli(created_at),
            toUnixTimestamp64Milli(created_at) + 40000, 1, 0
        FROM {tasks} ARRAY JOIN events AS e"""
    windows = f"""INSERT INTO phospho_store.sessions (window_id, session_key, session_id, user_id, start_ms, end_ms, duration_ms,
            task_count, first_input, last_input, total_tokens, success_count, failure_count, tasks_with_errors, languages,
            sentiment_sum, sentiment_count, sentiment_min, event_counts, cost_usd, analyzed_count, version, is_deleted)
        SELECT session_window_id, any(session_key), any(session_id), any(user_id), min(ms), max(ms), max(ms) - min(ms), count(),
            argMin(input, ms), argMax(input, ms), sum(ifNull(prompt_tokens, 0) + ifNull(completion_tokens, 0)),
            countIf(feedback_flag = 'success'), countIf(feedback_flag = 'failure'), countIf(notEmpty(errors)),
            CAST(sumMap(map(language, toUInt32(1))), 'Map(String, UInt32)'), sum(ifNull(sentiment_score, 0)),
            countIf(sentiment_score IS NOT NULL), min(sentiment_score),
            CAST(sumMap(CAST((events, arrayMap(e -> toUInt32(1), events)), 'Map(String, UInt32)')), 'Map(String, UInt32)'),
            sum(ifNull(cost_usd, 0)), count(), 1, 0
        FROM (SELECT *, toUnixTimestamp64Milli(created_at) AS ms FROM {tasks}) GROUP BY session_window_id"""
    return [spans, feedback, events, windows]


def _long_session_sql(n: int, t0_ms: int) -> list[str]:
    """One session of `n` tasks (an agent conversation: a task every 30 s, each with a retrieval,
    an LLM call and a tool call, a few hundred characters in and out)."""
    task_id = "concat('task-long-', leftPad(toString(k), 4, '0'))"
    tasks = f"""INSERT INTO phospho_store.tasks (task_id, event_id, project_id, session_id, session_id_generated, session_key,
            window_id, user_id, version_id, created_at_ms, client_created_at_ms, sent_at_ms, input, output, system_prompt,
            model, prompt_tokens, completion_tokens, raw_input_type_name, raw_output_type_name, metadata, metadata_json,
            stream, errors, sdk_version, span_count, llm_call_count, span_models, span_input_tokens, span_output_tokens,
            llm_latency_ms, llm_wall_ms, feedback_flag, language, sentiment_method, events, cost_usd, analytics_version)
        SELECT {task_id}, generateUUIDv4()::String, '{PROJECTS[0]}', '{LONG_SESSION}', false, 's:{LONG_SESSION}',
            '{LONG_WINDOW}', '{LONG_USER}', '20251113_bench', {t0_ms} + k * 30000, {t0_ms} + k * 30000, {t0_ms} + k * 30000 + 20,
            concat('Step ', toString(k), ' of the migration: ', repeat('what about the next table? ', 8)),
            concat('Here is the plan for step ', toString(k), ': ', repeat('copy the rows, check the counts, switch the reads. ', 12)),
            'You are a careful database assistant.', 'gpt-4o-mini', 300 + k % 50, 200 + k % 70, 'str', 'str',
            '{{"channel":"api"}}', '{{"channel":"api"}}', false, '[]', '0.1.0', 3, 1, '["gpt-4o-mini"]', 300 + k % 50,
            200 + k % 70, 900 + k % 400, 900 + k % 400, if(k % 10 = 0, if(k % 30 = 0, 'failure', 'success'), NULL),
            'en', 'vader', '[]', (500 + k % 50 + k % 70) * 0.15 / 1e6, 'r1-bench'
        FROM (SELECT number AS k FROM numbers({n}))"""
    window = f"""INSERT INTO phospho_store.sessions (window_id, session_key, session_id, user_id, start_ms, end_ms,
            duration_ms, task_count, first_input, last_input, total_tokens, success_count, failure_count, tasks_with_errors,
            languages, sentiment_sum, sentiment_count, sentiment_min, event_counts, cost_usd, analyzed_count, version, is_deleted)
        VALUES ('{LONG_WINDOW}', 's:{LONG_SESSION}', '{LONG_SESSION}', '{LONG_USER}', {t0_ms}, {t0_ms + (n - 1) * 30000},
            {(n - 1) * 30000}, {n}, 'Step 0 of the migration', 'Step {n - 1} of the migration',
            {sum(500 + k % 50 + k % 70 for k in range(n))}, {len([k for k in range(0, n, 10) if k % 30])},
            {len(range(0, n, 30))}, 0, map('en', {n}), 0, 0, NULL, map(), 0, {n}, {n}, 0)"""
    spans = f"""INSERT INTO phospho_store.spans (event_id, project_id, trace_id, span_id, name, kind, task_id, session_id,
            user_id, link_method, step_index, start_time_ms, end_time_ms, duration_us, status_code, operation, provider,
            request_model, response_model, input_tokens, output_tokens, input_text, output_text, attributes,
            attributes_json, errors)
        SELECT generateUUIDv4()::String, '{PROJECTS[0]}', lower(hex(cityHash64(task_id, 9))) || lower(hex(cityHash64(task_id, 10))),
            lower(hex(cityHash64(task_id, 11, i))), arrayElement({_STEPS}, i), 'INTERNAL', task_id, '{LONG_SESSION}',
            '{LONG_USER}', 'context', toInt32(i - 1), ts, ts + 900, 900000, 'OK', if(i = 2, 'chat', NULL),
            if(i = 2, 'openai', NULL), if(i = 2, 'gpt-4o-mini', NULL), if(i = 2, 'gpt-4o-mini', NULL),
            if(i = 2, toInt64(300 + k % 50), NULL), if(i = 2, toInt64(200 + k % 70), NULL),
            repeat('step input ', 40), repeat('step output ', 60), '{{}}', '{{}}', '[]'
        FROM (SELECT number AS k FROM numbers({n})) ARRAY JOIN [{task_id}] AS task_id
        ARRAY JOIN range(1, 4) AS i ARRAY JOIN [{t0_ms} + k * 30000 - 3000 + (i - 1) * 1000] AS ts"""
    return [tasks, window, spans]


def load_rows(store: Any, tasks: int, chunk_sessions: int = 100_000, say=print) -> dict[str, Any]:
    """Generate about `tasks` tasks (mean 5 per session) and the long session into a migrated
    store; returns counts."""
    sessions = max(1, tasks // 5)
    t0 = time.perf_counter()
    done = 0
    while done < sessions:
        n = min(chunk_sessions, sessions - done)
        for sql in [*_task_sql(done, n), *_derived_sql(done, n)]:
            store.command(sql)
        done += n
        say(f"dashboard data: {done:,} of {sessions:,} sessions generated")
    first, last = store.query("SELECT min(created_at_ms), max(created_at_ms) FROM phospho_store.tasks").rows[0]
    for sql in _long_session_sql(LONG_SESSION_TASKS, (int(first) + int(last)) // 2):  # amid the others, not the newest
        store.command(sql)
    say(f"dashboard data: a session of {LONG_SESSION_TASKS} tasks with steps added")
    counts = store.query("""SELECT (SELECT count() FROM phospho.tasks), (SELECT count() FROM phospho.sessions),
        (SELECT count() FROM phospho.feedback), (SELECT count() FROM phospho.spans), (SELECT count() FROM phospho.events),
        (SELECT count() FROM phospho_store.tasks)""").rows[0]
    return {"task_rows": int(counts[0]), "session_windows": int(counts[1]), "feedback_rows": int(counts[2]),
            "span_rows": int(counts[3]), "event_rows": int(counts[4]), "task_partial_rows": int(counts[5]),
            "generate_seconds": time.perf_counter() - t0}
