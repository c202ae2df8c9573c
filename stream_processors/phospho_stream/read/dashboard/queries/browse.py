"""The statements of the browsing pages: tasks, sessions and users (a page of ids, then their
rows by key), one task, one session, one user, and the filter choices."""

from __future__ import annotations

__all__ = [
    "TASKS_PAGE", "TASKS_COUNT", "TASK_ROWS", "TASK", "TASK_SPANS", "TASK_EVENTS", "TASK_TOPIC", "SESSION_TASKS",
    "SPANS_OF_TASKS", "SESSIONS_PAGE", "SESSIONS_COUNT", "SESSION_ROWS", "SESSION", "USER_AGGREGATE", "USERS_PAGE",
    "USERS_COUNT", "USER", "FACETS", "EVENT_NAMES",
]

# -- tasks ---------------------------------------------------------------------------------------

_TASK_LIST_COLUMNS = """task_id, toUnixTimestamp64Milli(created_at) AS created_ms, project_id, user_id, session_id,
    session_window_id, version_id, model, span_models, leftUTF8(input, 240) AS input, leftUTF8(ifNull(output, ''), 240) AS output,
    total_tokens, feedback_flag, flag, flag_source, span_count, length(errors) AS error_count, language, sentiment_label,
    sentiment_score, events, cost_usd, analyzed"""

# one page of task ids, newest first, and how many tasks match (one scan)
TASKS_PAGE = """SELECT task_id, count() OVER () AS total FROM phospho.tasks WHERE /*where*/
    ORDER BY created_at DESC, task_id LIMIT {limit:UInt32} OFFSET {offset:UInt64}"""
# how many tasks match, for a page past the end
TASKS_COUNT = "SELECT count() AS total FROM phospho.tasks WHERE /*where*/"
TASK_ROWS = f"""SELECT {_TASK_LIST_COLUMNS} FROM phospho.tasks
    WHERE has(JSONExtract({{ids:String}}, 'Array(String)'), task_id)"""
TASK = """SELECT task_id, project_id, session_id, session_window_id, user_id, version_id,
    toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(client_created_at) AS client_created_ms,
    input, output, system_prompt, model, prompt_tokens, completion_tokens, total_tokens, cached_tokens,
    leftUTF8(ifNull(raw_input, ''), 20000) AS raw_input, leftUTF8(ifNull(raw_output, ''), 20000) AS raw_output,
    metadata, metadata_json, stream, errors, span_count, llm_call_count, span_models, span_input_tokens,
    span_output_tokens, llm_latency_ms, llm_wall_ms, feedback_flag, feedback_notes, flag, flag_source,
    eval_flag, eval_reason, eval_model, eval_cost_usd, language, sentiment_score, sentiment_magnitude, sentiment_label,
    sentiment_method, events, cost_usd, cost_note, analytics_version, analyzed, redactions
    FROM phospho.tasks WHERE task_id = {task_id:String}"""
_SPAN_COLUMNS = """span_event_id, task_id, span_id, parent_span_id, name, kind, step_index, link_method,
    toUnixTimestamp64Milli(start_time) AS start_ms, toUnixTimestamp64Milli(end_time) AS end_ms, duration_ms,
    status_code, status_message, operation, provider, request_model, response_model, input_tokens, output_tokens,
    leftUTF8(ifNull(input_text, ''), 2000) AS input_text, leftUTF8(ifNull(output_text, ''), 2000) AS output_text, orphan"""
# A task's steps in order: by start, then the position the app gave them. Their ids first (a scan
# of two light columns), then their rows by key.
TASK_SPANS = f"""SELECT {_SPAN_COLUMNS} FROM phospho.spans
    WHERE span_event_id IN (SELECT span_event_id FROM phospho.spans WHERE task_id = {{task_id:String}})
    ORDER BY start_time, step_index NULLS LAST, span_event_id"""
# A task's detections (phospho.events is ordered by task_id, event_name)
TASK_EVENTS = """SELECT event_name, score, score_type, label, source, detection_scope,
    toUnixTimestamp64Milli(detected_at) AS detected_ms
    FROM phospho.events WHERE task_id = {task_id:String} ORDER BY event_name"""
# A task's topic in the latest clustering that placed it (the evaluation stage's; small tables)
TASK_TOPIC = """SELECT tt.topic_id AS topic_id, tp.name AS name, tt.run_id AS run_id
    FROM phospho.task_topics AS tt INNER JOIN phospho.topics AS tp ON tp.run_id = tt.run_id AND tp.topic_id = tt.topic_id
    WHERE tt.task_id = {task_id:String} ORDER BY tt.created_at DESC LIMIT 1"""
SPANS_OF_TASKS = f"""SELECT {_SPAN_COLUMNS} FROM phospho.spans
    WHERE span_event_id IN (SELECT span_event_id FROM phospho.spans
        WHERE has(JSONExtract({{ids:String}}, 'Array(String)'), assumeNotNull(task_id)))
    ORDER BY task_id, start_time, step_index NULLS LAST, span_event_id"""
# A session window's transcript, in order: its task ids (a scan of light columns), then their rows by key.
SESSION_TASKS = """SELECT task_id, toUnixTimestamp64Milli(created_at) AS created_ms, user_id, session_id,
    session_window_id, version_id, model, span_models, input, output, system_prompt, total_tokens, feedback_flag, feedback_notes,
    flag, flag_source, span_count, length(errors) AS error_count, language, sentiment_label, events, cost_usd
    FROM phospho.tasks
    WHERE task_id IN (SELECT task_id FROM phospho.tasks WHERE session_window_id = {window_id:String})
    ORDER BY created_at, task_id LIMIT {limit:UInt32}"""

# -- sessions ------------------------------------------------------------------------------------

_SESSION_COLUMNS = """window_id, session_id, session_key, user_id, toUnixTimestamp64Milli(start_time) AS start_ms,
    toUnixTimestamp64Milli(end_time) AS end_ms, duration_s, task_count, leftUTF8(first_input, 240) AS first_input,
    leftUTF8(last_input, 240) AS last_input, total_tokens, success_count, failure_count, tasks_with_errors, language,
    languages, sentiment_mean, sentiment_min, event_counts, cost_usd, analyzed_count"""
SESSIONS_PAGE = """SELECT window_id, count() OVER () AS total FROM phospho.sessions WHERE /*where*/
    ORDER BY /*order*/, window_id LIMIT {limit:UInt32} OFFSET {offset:UInt64}"""
SESSIONS_COUNT = "SELECT count() AS total FROM phospho.sessions WHERE /*where*/"
SESSION_ROWS = f"""SELECT {_SESSION_COLUMNS} FROM phospho.sessions
    WHERE has(JSONExtract({{ids:String}}, 'Array(String)'), window_id)"""
SESSION = f"SELECT {_SESSION_COLUMNS} FROM phospho.sessions WHERE window_id = {{window_id:String}}"

# -- users ---------------------------------------------------------------------------------------

# A user's figures summed over their session windows in the filters (a window belongs to the user
# of its latest task), as phospho.users sums all of them; inner names differ from the columns'.
# Sentiment: the mean of the windows' means (the view's exact mean needs the windows' counts).
USER_AGGREGATE = """SELECT assumeNotNull(user_id) AS uid, sum(task_count) AS n_tasks, count() AS n_sessions,
        avg(task_count) AS avg_tasks, avg(duration_s) AS avg_duration, min(start_time) AS first_at, max(end_time) AS last_at,
        sum(total_tokens) AS tokens, sum(success_count) AS successes, sum(failure_count) AS failures,
        sum(tasks_with_errors) AS with_errors, sum(cost_usd) AS cost, avg(sentiment_mean) AS sentiment,
        min(sentiment_min) AS sentiment_low, sumMap(languages) AS langs, sumMap(event_counts) AS event_map
    FROM phospho.sessions WHERE isNotNull(user_id) AND /*where*/ GROUP BY uid"""
_USER_COLUMNS = """uid AS user_id, n_tasks AS task_count, n_sessions AS session_count, avg_tasks AS avg_session_tasks,
    avg_duration AS avg_session_duration_s, toUnixTimestamp64Milli(first_at) AS first_seen_ms,
    toUnixTimestamp64Milli(last_at) AS last_seen_ms, tokens AS total_tokens, successes AS success_count,
    failures AS failure_count, if(successes + failures = 0, NULL, successes / (successes + failures)) AS success_ratio,
    with_errors AS tasks_with_errors, cost AS cost_usd, sentiment AS sentiment_mean, sentiment_low AS sentiment_min"""
USERS_PAGE = f"""SELECT {_USER_COLUMNS}, count() OVER () AS total FROM ({USER_AGGREGATE})
    ORDER BY /*order*/, user_id LIMIT {{limit:UInt32}} OFFSET {{offset:UInt64}}"""
USERS_COUNT = f"SELECT count() AS total FROM ({USER_AGGREGATE})"
USER = f"SELECT {_USER_COLUMNS}, langs AS languages, event_map AS event_counts FROM ({USER_AGGREGATE})"

# -- filter choices --------------------------------------------------------------------------------

# the versions, models and projects seen (most recent first) and the languages (most tasks first),
# in one scan
FACETS = """SELECT multiIf(grouping(version_id) = 0, 'version', grouping(model) = 0, 'model',
        grouping(project_id) = 0, 'project', 'language') AS kind,
    multiIf(kind = 'version', ifNull(version_id, ''), kind = 'model', ifNull(model, ''), kind = 'project',
        ifNull(project_id, ''), if(language = '', 'unknown', language)) AS value,
    toUnixTimestamp64Milli(max(created_at)) AS last_ms, count() AS tasks
    FROM phospho.tasks GROUP BY GROUPING SETS ((version_id), (model), (project_id), (language))
    HAVING value != '' ORDER BY kind, if(kind = 'language', toInt64(tasks), last_ms) DESC, value LIMIT 100 BY kind"""
# the events detected, most detections first
EVENT_NAMES = """SELECT event_name, count() AS detections FROM phospho.events
    GROUP BY event_name ORDER BY detections DESC, event_name LIMIT 500"""
