"""Every SQL statement the dashboard runs, on the analysts' views (and, to find ids, the
storage tables' skip indexes).

Values are always bound as ClickHouse `{name:Type}` parameters. The only variable parts of a
statement are the `/*where*/` and `/*order*/` markers, which `compose` replaces with constant
fragments of this module chosen by name (a filter that is present, a sort key from a fixed
list): nothing a request sends ever becomes SQL text. Lists of ids are bound as one JSON
String parameter and read with JSONExtract.

Times leave the store as epoch milliseconds (`*_ms`), the same from chDB and a server.

Rows are read from the views. The lookups by something other than a table's key (a session's
tasks, tasks' steps) first find candidate ids in the storage table itself, through its
bloom_filter skip index (storage migration 2): every version of every row is there, so the
candidates are a superset, and the view's own condition then keeps the exact rows. The
statements that read a view by its key (a page's rows, a task, the rows found as above) run
with the `BY_KEY` setting (`tuning(sql)`, passed beside the SQL: the read path refuses a
SETTINGS clause), which lets ClickHouse filter on the key before FINAL merges the rows (with
FINAL it only moves conditions on the sorting key there, which every version of a row shares):
the other columns are then read for the matching granules only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "TASK_FILTERS", "SESSION_FILTERS", "USER_FILTERS", "SESSION_ORDERS", "USER_ORDERS", "compose",
    "TASKS_PAGE", "TASKS_COUNT", "TASK_ROWS", "TASK", "TASK_SPANS", "SESSION_TASKS", "SPANS_OF_TASKS",
    "SESSIONS_PAGE", "SESSIONS_COUNT", "SESSION_ROWS", "SESSION", "USERS_PAGE", "USERS_COUNT", "USER",
    "FACETS", "TASK_INSIGHTS", "SESSION_SHAPES", "ENDING_MESSAGES", "ALL_STATEMENTS", "BY_KEY", "tuning",
]

# -- filters and sort keys: name -> constant fragment ------------------------------------------

TASK_FILTERS: dict[str, str] = {
    "from_ms": "created_at >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')",
    "to_ms": "created_at < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')",
    "user": "user_id = {user:String}",
    "session": "(session_id = {session:String} OR session_window_id = {session:String})",
    "version": "version_id = {version:String}",
    "model": "(model = {model:String} OR has(span_models, {model:String}))",
    "flag": "ifNull(feedback_flag, 'none') = {flag:String}",
    "q": "(positionCaseInsensitiveUTF8(input, {q:String}) > 0 OR positionCaseInsensitiveUTF8(ifNull(output, ''), {q:String}) > 0)",
}
SESSION_FILTERS: dict[str, str] = {
    "from_ms": "start_time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')",
    "to_ms": "start_time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')",
    "user": "user_id = {user:String}",
    "q": "(positionCaseInsensitiveUTF8(first_input, {q:String}) > 0 OR positionCaseInsensitiveUTF8(last_input, {q:String}) > 0)",
}
USER_FILTERS: dict[str, str] = {"q": "positionCaseInsensitiveUTF8(user_id, {q:String}) > 0"}

SESSION_ORDERS: dict[str, str] = {"start": "start_time", "tasks": "task_count", "duration": "duration_s",
                                  "failures": "failure_count", "tokens": "total_tokens"}
USER_ORDERS: dict[str, str] = {
    "tasks": "task_count", "sessions": "session_count", "avg_tasks": "avg_session_tasks",
    "avg_duration": "avg_session_duration_s", "first_seen": "first_seen", "last_seen": "last_seen",
    "tokens": "total_tokens", "successes": "success_count", "failures": "failure_count",
    "success_ratio": "success_ratio", "user": "user_id",
}


def compose(template: str, filters: Mapping[str, str] | None = None, active: Iterable[str] = (),
            orders: Mapping[str, str] | None = None, order: str | None = None, descending: bool = True) -> str:
    """`template` with its markers replaced by this module's fragments. Unknown names raise
    KeyError: a request can only pick among the fragments above."""
    sql = template
    if filters is not None:
        parts = [filters[name] for name in sorted(set(active))]
        sql = sql.replace("/*where*/", " AND ".join(parts) if parts else "1")
    if orders is not None and order is not None:
        sql = sql.replace("/*order*/", f"{orders[order]} {'DESC' if descending else 'ASC'} NULLS LAST")
    return sql


# -- tasks ---------------------------------------------------------------------------------------

# reading a view by its key: the key condition is applied before FINAL (see the module's doc)
BY_KEY: Mapping[str, Any] = {"optimize_move_to_prewhere_if_final": 1}

_TASK_LIST_COLUMNS = """task_id, toUnixTimestamp64Milli(created_at) AS created_ms, user_id, session_id, session_window_id,
    version_id, model, span_models, leftUTF8(input, 240) AS input, leftUTF8(ifNull(output, ''), 240) AS output, total_tokens,
    feedback_flag, span_count, length(errors) AS error_count"""

# one page of task ids, newest first, and how many tasks match (one scan)
TASKS_PAGE = """SELECT task_id, count() OVER () AS total FROM phospho.tasks WHERE /*where*/
    ORDER BY created_at DESC, task_id LIMIT {limit:UInt32} OFFSET {offset:UInt64}"""
# how many tasks match, for a page past the end
TASKS_COUNT = "SELECT count() AS total FROM phospho.tasks WHERE /*where*/"
TASK_ROWS = f"""SELECT {_TASK_LIST_COLUMNS} FROM phospho.tasks
    WHERE has(JSONExtract({{ids:String}}, 'Array(String)'), task_id)"""
TASK = """SELECT task_id, project_id, session_id, session_window_id, user_id, version_id,
    toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(client_created_at) AS client_created_ms,
    input, output, system_prompt, model, prompt_tokens, completion_tokens, total_tokens,
    leftUTF8(ifNull(raw_input, ''), 20000) AS raw_input, leftUTF8(ifNull(raw_output, ''), 20000) AS raw_output,
    metadata, metadata_json, stream, errors, span_count, llm_call_count, span_models, span_input_tokens,
    span_output_tokens, llm_latency_ms, llm_wall_ms, feedback_flag, feedback_notes
    FROM phospho.tasks WHERE task_id = {task_id:String}"""
_SPAN_COLUMNS = """span_event_id, task_id, span_id, parent_span_id, name, kind, step_index, link_method,
    toUnixTimestamp64Milli(start_time) AS start_ms, toUnixTimestamp64Milli(end_time) AS end_ms, duration_ms,
    status_code, status_message, operation, provider, request_model, response_model, input_tokens, output_tokens,
    leftUTF8(ifNull(input_text, ''), 2000) AS input_text, leftUTF8(ifNull(output_text, ''), 2000) AS output_text, orphan"""
# A task's steps in order: by start, then the position the app gave them.
TASK_SPANS = f"""SELECT {_SPAN_COLUMNS} FROM phospho.spans
    WHERE task_id = {{task_id:String}}
    ORDER BY start_time, step_index NULLS LAST, span_event_id"""
SPANS_OF_TASKS = f"""SELECT {_SPAN_COLUMNS} FROM phospho.spans
    WHERE has(JSONExtract({{ids:String}}, 'Array(String)'), assumeNotNull(task_id))
    ORDER BY task_id, start_time, step_index NULLS LAST, span_event_id"""
# A session window's transcript, in order.
SESSION_TASKS = """SELECT task_id, toUnixTimestamp64Milli(created_at) AS created_ms, user_id, session_id,
    session_window_id, version_id, model, span_models, input, output, system_prompt, total_tokens, feedback_flag, feedback_notes,
    span_count, length(errors) AS error_count
    FROM phospho.tasks
    WHERE session_window_id = {window_id:String}
    ORDER BY created_at, task_id LIMIT {limit:UInt32}"""

# -- sessions ------------------------------------------------------------------------------------

_SESSION_COLUMNS = """window_id, session_id, session_key, user_id, toUnixTimestamp64Milli(start_time) AS start_ms,
    toUnixTimestamp64Milli(end_time) AS end_ms, duration_s, task_count, leftUTF8(first_input, 240) AS first_input,
    leftUTF8(last_input, 240) AS last_input, total_tokens, success_count, failure_count"""
SESSIONS_PAGE = """SELECT window_id, count() OVER () AS total FROM phospho.sessions WHERE /*where*/
    ORDER BY /*order*/, window_id LIMIT {limit:UInt32} OFFSET {offset:UInt64}"""
SESSIONS_COUNT = "SELECT count() AS total FROM phospho.sessions WHERE /*where*/"
SESSION_ROWS = f"""SELECT {_SESSION_COLUMNS} FROM phospho.sessions
    WHERE has(JSONExtract({{ids:String}}, 'Array(String)'), window_id)"""
SESSION = f"SELECT {_SESSION_COLUMNS} FROM phospho.sessions WHERE window_id = {{window_id:String}}"

# -- users ---------------------------------------------------------------------------------------

_USER_COLUMNS = """user_id, task_count, session_count, avg_session_tasks, avg_session_duration_s,
    toUnixTimestamp64Milli(first_seen) AS first_seen_ms, toUnixTimestamp64Milli(last_seen) AS last_seen_ms,
    total_tokens, success_count, failure_count, success_ratio"""
USERS_PAGE = f"""SELECT {_USER_COLUMNS}, count() OVER () AS total FROM phospho.users WHERE /*where*/
    ORDER BY /*order*/, user_id LIMIT {{limit:UInt32}} OFFSET {{offset:UInt64}}"""
USERS_COUNT = "SELECT count() AS total FROM phospho.users WHERE /*where*/"
USER = f"SELECT {_USER_COLUMNS} FROM phospho.users WHERE user_id = {{user:String}}"

# -- filter choices and insights ------------------------------------------------------------------

# the versions and models seen, most recent first (one scan; grouping(): kind 1 = version, 2 = model)
FACETS = """SELECT grouping(version_id, model) AS kind, if(kind = 1, ifNull(version_id, ''), ifNull(model, '')) AS value,
    toUnixTimestamp64Milli(max(created_at)) AS last_ms, count() AS tasks
    FROM phospho.tasks GROUP BY GROUPING SETS ((version_id), (model))
    HAVING value != '' ORDER BY last_ms DESC, value LIMIT 100 BY kind"""
# tasks, feedback and tokens per day (kind 1), and tasks and tokens per model (kind 2), in one scan.
# A task's tokens: its total, else prompt + completion; its steps' tokens apart. Its model: the
# logged one, else its steps' models.
TASK_INSIGHTS = """SELECT grouping(day, model_name) AS kind, toString(toDate(t.created_at)) AS day,
    if(t.model IS NULL OR t.model = '', if(empty(t.span_models), '(none)', arrayStringConcat(t.span_models, ', ')), t.model) AS model_name,
    count() AS tasks, countIf(t.feedback_flag = 'success') AS success, countIf(t.feedback_flag = 'failure') AS failure,
    sum(ifNull(t.prompt_tokens, 0)) AS prompt_tokens, sum(ifNull(t.completion_tokens, 0)) AS completion_tokens,
    sum(ifNull(t.total_tokens, ifNull(t.prompt_tokens, 0) + ifNull(t.completion_tokens, 0))) AS total_tokens,
    sum(t.span_input_tokens + t.span_output_tokens) AS span_tokens
    FROM phospho.tasks AS t GROUP BY GROUPING SETS ((day), (model_name))
    ORDER BY kind, day, total_tokens + span_tokens DESC, tasks DESC, model_name"""
# sessions per day, the length histogram and the duration distribution, in one scan (and the
# dead letters' count)
SESSION_SHAPES = """SELECT count() AS sessions, avg(task_count) AS avg_tasks, avg(duration_s) AS avg_duration_s,
    sumMap([toString(toDate(start_time))], [toUInt64(1)]) AS per_day,
    sumMap([task_count], [toUInt64(1)]) AS lengths,
    sumMap([toUInt32(ceil(log2(duration_s + 1)))], [toUInt64(1)]) AS duration_buckets,
    quantilesExact(0.5, 0.9, 0.99)(duration_s) AS duration_quantiles, max(duration_s) AS max_duration_s,
    (SELECT count() FROM phospho.dead_letters) AS dead_letters
    FROM phospho.sessions"""
ENDING_MESSAGES = """SELECT leftUTF8(last_input, 240) AS message, count() AS sessions_ended, avg(task_count) AS avg_session_tasks
    FROM phospho.sessions GROUP BY message ORDER BY sessions_ended DESC, message LIMIT {limit:UInt32}"""

_KEYED = frozenset({TASK_ROWS, TASK, TASK_SPANS, SPANS_OF_TASKS, SESSION_TASKS})


def tuning(sql: str) -> Mapping[str, Any] | None:
    """The settings a statement of this module runs with (BY_KEY for the reads by key)."""
    return BY_KEY if sql in _KEYED else None


#: every statement with its markers at their widest (for the read-only and binding tests)
ALL_STATEMENTS: tuple[str, ...] = (
    compose(TASKS_PAGE, TASK_FILTERS, TASK_FILTERS), compose(TASKS_COUNT, TASK_FILTERS, TASK_FILTERS), TASK_ROWS, TASK,
    TASK_SPANS, SPANS_OF_TASKS, SESSION_TASKS,
    compose(SESSIONS_PAGE, SESSION_FILTERS, SESSION_FILTERS, SESSION_ORDERS, "start"),
    compose(SESSIONS_COUNT, SESSION_FILTERS, SESSION_FILTERS), SESSION_ROWS, SESSION,
    compose(USERS_PAGE, USER_FILTERS, USER_FILTERS, USER_ORDERS, "tasks"), compose(USERS_COUNT, USER_FILTERS, USER_FILTERS),
    USER, FACETS, TASK_INSIGHTS, SESSION_SHAPES, ENDING_MESSAGES,
)
