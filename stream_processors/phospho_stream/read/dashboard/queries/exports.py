"""The statements of the CSV exports: a list page's rows with its filters and order, whole
(texts uncut), up to `{limit}` rows. The tasks' ids are found first (a scan of the filtered
columns), then their rows by key."""

from __future__ import annotations

from .browse import USER_AGGREGATE

__all__ = ["TASKS_EXPORT", "SESSIONS_EXPORT", "USERS_EXPORT", "EVENTS_EXPORT"]

TASKS_EXPORT = """SELECT task_id, toString(created_at) AS created_at_utc, project_id, user_id, session_id,
    session_window_id, version_id, model, input, output, system_prompt, prompt_tokens, completion_tokens, total_tokens,
    feedback_flag, feedback_notes, flag, flag_source, eval_reason, language, sentiment_label, sentiment_score, events,
    cost_usd, cost_note, span_count, errors, metadata
    FROM phospho.tasks WHERE task_id IN (SELECT task_id FROM phospho.tasks WHERE /*where*/
        ORDER BY created_at DESC, task_id LIMIT {limit:UInt32})
    ORDER BY created_at DESC, task_id"""
SESSIONS_EXPORT = """SELECT window_id, session_id, user_id, toString(start_time) AS start_time_utc,
    toString(end_time) AS end_time_utc, duration_s, task_count, first_input, last_input, total_tokens, success_count,
    failure_count, tasks_with_errors, language, languages, sentiment_mean, sentiment_min, event_counts, cost_usd
    FROM phospho.sessions WHERE /*where*/ ORDER BY /*order*/, window_id LIMIT {limit:UInt32}"""
USERS_EXPORT = f"""SELECT uid AS user_id, n_tasks AS task_count, n_sessions AS session_count,
    avg_tasks AS avg_session_tasks, avg_duration AS avg_session_duration_s, toString(first_at) AS first_seen_utc,
    toString(last_at) AS last_seen_utc, toUnixTimestamp64Milli(first_at) AS first_seen_ms,
    toUnixTimestamp64Milli(last_at) AS last_seen_ms, tokens AS total_tokens, successes AS success_count,
    failures AS failure_count, if(successes + failures = 0, NULL, successes / (successes + failures)) AS success_ratio,
    with_errors AS tasks_with_errors, cost AS cost_usd, sentiment AS sentiment_mean, langs AS languages,
    event_map AS event_counts
    FROM ({USER_AGGREGATE}) ORDER BY /*order*/, user_id LIMIT {{limit:UInt32}}"""
EVENTS_EXPORT = """SELECT event_name, task_id, session_id, user_id, score, score_type, label, source, detection_scope,
    analytics_version, toString(created_at) AS created_at_utc, toString(detected_at) AS detected_at_utc
    FROM phospho.events WHERE /*where*/ ORDER BY created_at DESC, task_id, event_name LIMIT {limit:UInt32}"""
