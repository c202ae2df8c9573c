"""Migration 3: storage tables in `phospho_store` (the row contract of phospho_schemas.rows), the
analysts' views in `phospho`, and what migration 2 stored copied over.

`phospho_store.tasks` is an AggregatingMergeTree whose every column keeps its last non-NULL
value: each stage writes only the columns it owns, and a task's partial rows merge into one
(a view reads it with FINAL). Lists and maps are JSON text there; the views type them.
"""

from __future__ import annotations

from .migration import Migration

__all__ = ["V3", "TASK_COLUMNS", "SPAN_COLUMNS", "VIEWS"]

#: the columns of phospho_store.tasks besides task_id, with their ClickHouse types
TASK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "String"), ("project_id", "String"), ("session_id", "String"), ("session_id_generated", "Bool"),
    ("session_key", "String"), ("user_id", "String"), ("version_id", "String"),
    ("created_at_ms", "Int64"), ("client_created_at_ms", "Int64"), ("last_update_ms", "Int64"), ("sent_at_ms", "Int64"),
    ("input", "String"), ("output", "String"), ("system_prompt", "String"), ("model", "String"),
    ("prompt_tokens", "Int64"), ("completion_tokens", "Int64"), ("total_tokens", "Int64"), ("cached_tokens", "Int64"),
    ("raw_input", "String"), ("raw_input_type_name", "String"), ("raw_output", "String"),
    ("raw_output_type_name", "String"), ("metadata", "String"), ("metadata_json", "String"), ("stream", "Bool"),
    ("errors", "String"), ("sdk_version", "String"), ("redactions", "String"),
    ("span_count", "UInt32"), ("llm_call_count", "UInt32"), ("span_models", "String"),
    ("span_input_tokens", "Int64"), ("span_output_tokens", "Int64"), ("llm_latency_ms", "Int64"),
    ("llm_wall_ms", "Int64"), ("feedback_flag", "String"), ("feedback_notes", "String"), ("feedback_at_ms", "Int64"),
    ("window_id", "String"),
    ("language", "String"), ("sentiment_score", "Float64"), ("sentiment_magnitude", "Float64"),
    ("sentiment_label", "String"), ("sentiment_method", "String"), ("events", "String"), ("cost_usd", "Float64"),
    ("cost_note", "String"), ("analytics_truncated", "String"), ("analytics_errors", "String"),
    ("analytics_version", "String"), ("analyzed_at_ms", "Int64"),
    ("eval_flag", "String"), ("eval_reason", "String"), ("eval_model", "String"), ("eval_prompt_version", "String"),
    ("eval_cost_usd", "Float64"), ("eval_at_ms", "Int64"), ("llm_events", "String"), ("llm_errors", "String"),
)

#: the columns of phospho_store.spans besides event_id (merged like the tasks': a span's own
#: row, then its task's session and user once the task is known)
SPAN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("project_id", "String"), ("trace_id", "String"), ("span_id", "String"), ("parent_span_id", "String"),
    ("name", "String"), ("kind", "String"), ("task_id", "String"), ("session_id", "String"), ("user_id", "String"),
    ("link_method", "String"), ("step_index", "Int32"), ("start_time_ms", "Int64"), ("end_time_ms", "Int64"),
    ("duration_us", "Int64"), ("status_code", "String"), ("status_message", "String"), ("operation", "String"),
    ("provider", "String"), ("request_model", "String"), ("response_model", "String"), ("input_tokens", "Int64"),
    ("output_tokens", "Int64"), ("cached_input_tokens", "Int64"), ("input_text", "String"), ("output_text", "String"),
    ("attributes", "String"), ("attributes_json", "String"), ("errors", "String"), ("redactions", "String"),
)

_FEEDBACK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("project_id", "String"), ("task_id", "String"), ("session_id", "String"), ("user_id", "String"),
    ("flag", "String"), ("raw_flag", "String"), ("notes", "String"), ("source", "String"),
    ("created_at_ms", "Int64"), ("errors", "String"), ("redactions", "String"), ("orphan", "Bool"),
)


def _merged(columns: tuple[tuple[str, str], ...]) -> str:
    return ",\n        ".join(f"{name} SimpleAggregateFunction(anyLast, Nullable({kind}))" for name, kind in columns)


_TABLES = (
    "CREATE DATABASE IF NOT EXISTS phospho_store",
    f"""CREATE TABLE IF NOT EXISTS phospho_store.tasks (
        task_id String,
        {_merged(TASK_COLUMNS)},
        written_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')) DEFAULT now64(3),
        INDEX tasks_window window_id TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX tasks_user user_id TYPE bloom_filter(0.01) GRANULARITY 1
    ) ENGINE = AggregatingMergeTree ORDER BY task_id""",
    f"""CREATE TABLE IF NOT EXISTS phospho_store.spans (
        event_id String,
        {_merged(SPAN_COLUMNS)},
        written_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')) DEFAULT now64(3),
        INDEX spans_task task_id TYPE bloom_filter(0.01) GRANULARITY 1
    ) ENGINE = AggregatingMergeTree ORDER BY event_id""",
    f"""CREATE TABLE IF NOT EXISTS phospho_store.feedback (
        event_id String,
        {_merged(_FEEDBACK_COLUMNS)},
        written_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')) DEFAULT now64(3)
    ) ENGINE = AggregatingMergeTree ORDER BY event_id""",
    """CREATE TABLE IF NOT EXISTS phospho_store.sessions (
        window_id String, session_key String, session_id String, user_id Nullable(String),
        start_ms Int64, end_ms Int64, duration_ms Int64, task_count UInt32,
        first_input String, last_input String, total_tokens Int64,
        success_count UInt32, failure_count UInt32, tasks_with_errors UInt32,
        languages Map(String, UInt32), sentiment_sum Float64, sentiment_count UInt32,
        sentiment_min Nullable(Float64), event_counts Map(String, UInt32), cost_usd Float64,
        analyzed_count UInt32,
        version UInt64, is_deleted UInt8, written_at DateTime64(3, 'UTC') DEFAULT now64(3),
        INDEX sessions_user user_id TYPE bloom_filter(0.01) GRANULARITY 1
    ) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY window_id""",
    """CREATE TABLE IF NOT EXISTS phospho_store.events (
        task_id String, event_name String, source LowCardinality(String),
        session_id String, user_id Nullable(String), detection_scope LowCardinality(String),
        score Float64, score_type LowCardinality(String), label Nullable(String),
        analytics_version String, created_at_ms Int64, detected_at_ms Int64,
        version UInt64, is_deleted UInt8, written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY (task_id, event_name)""",
    """CREATE TABLE IF NOT EXISTS phospho_store.evaluations (
        task_id String, flag LowCardinality(String), reason String, model String, prompt_version String,
        cost_usd Nullable(Float64), session_id String, user_id Nullable(String), created_at_ms Int64,
        evaluated_at_ms Int64, version UInt64, written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree(version) ORDER BY task_id""",
    """CREATE TABLE IF NOT EXISTS phospho_store.topics (
        run_id String, topic_id UInt32, name String, size UInt32, examples String, terms String,
        method LowCardinality(String), created_at_ms Int64, written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY (run_id, topic_id)""",
    """CREATE TABLE IF NOT EXISTS phospho_store.task_topics (
        run_id String, task_id String, topic_id UInt32, created_at_ms Int64,
        written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY (run_id, task_id)""",
    """CREATE TABLE IF NOT EXISTS phospho_store.dead_letters (
        topic String, partition UInt32, offset UInt64, key_base64 Nullable(String),
        value_base64 String, reason String, received_at_ms Int64,
        written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY (topic, partition, offset)""",
)

# what migration 2 stored, in the new tables (its tables are dropped afterwards)
_COPY = (
    """INSERT INTO phospho_store.tasks (task_id, event_id, project_id, session_id, session_id_generated, session_key,
        user_id, version_id, created_at_ms, client_created_at_ms, last_update_ms, sent_at_ms, input, output,
        system_prompt, model, prompt_tokens, completion_tokens, total_tokens, raw_input, raw_input_type_name,
        raw_output, raw_output_type_name, metadata, metadata_json, stream, errors, sdk_version, span_count,
        llm_call_count, span_models, span_input_tokens, span_output_tokens, llm_latency_ms, llm_wall_ms,
        feedback_flag, feedback_notes, window_id)
    SELECT task_id, event_id, project_id, session_id, session_id_generated, session_key, user_id, version_id,
        created_at_ms, client_created_at_ms, last_update_ms, sent_at_ms, input, output, system_prompt, model,
        prompt_tokens, completion_tokens, total_tokens, raw_input, raw_input_type_name, raw_output,
        raw_output_type_name, toJSONString(metadata), metadata_json, stream, toJSONString(errors), sdk_version,
        span_count, llm_call_count, toJSONString(span_models), span_input_tokens, span_output_tokens,
        llm_latency_ms, llm_wall_ms, feedback_flag, feedback_notes, window_id
    FROM phospho.task_rows FINAL""",
    """INSERT INTO phospho_store.spans (event_id, project_id, trace_id, span_id, parent_span_id, name, kind, task_id,
        session_id, user_id, link_method, step_index, start_time_ms, end_time_ms, duration_us, status_code,
        status_message, operation, provider, request_model, response_model, input_tokens, output_tokens,
        input_text, output_text, attributes, attributes_json, errors)
    SELECT event_id, project_id, trace_id, span_id, parent_span_id, name, kind, task_id, session_id, user_id,
        link_method, step_index, start_time_ms, end_time_ms, duration_us, status_code, status_message, operation,
        provider, request_model, response_model, input_tokens, output_tokens, input_text, output_text,
        toJSONString(attributes), attributes_json, toJSONString(errors)
    FROM phospho.span_rows FINAL""",
    """INSERT INTO phospho_store.feedback (event_id, project_id, task_id, session_id, user_id, flag, raw_flag, notes,
        source, created_at_ms, errors, orphan)
    SELECT event_id, project_id, task_id, session_id, user_id, flag, raw_flag, notes, source, created_at_ms,
        toJSONString(errors), orphan
    FROM phospho.feedback_rows FINAL""",
    """INSERT INTO phospho_store.sessions (window_id, session_key, session_id, user_id, start_ms, end_ms, duration_ms,
        task_count, first_input, last_input, total_tokens, success_count, failure_count, tasks_with_errors,
        version, is_deleted)
    SELECT window_id, session_key, session_id, user_id, start_ms, end_ms, duration_ms, task_count, first_input,
        last_input, total_tokens, success_count, failure_count, tasks_with_errors, version, is_deleted
    FROM phospho.session_windows FINAL""",
    """INSERT INTO phospho_store.dead_letters (topic, partition, offset, key_base64, value_base64, reason,
        received_at_ms)
    SELECT topic, partition, offset, key_base64, value_base64, reason, received_at_ms
    FROM phospho.dead_letter_rows FINAL""",
)

_DROP = tuple(f"DROP TABLE IF EXISTS phospho.{name}"
              for name in ("task_rows", "span_rows", "feedback_rows", "session_windows", "dead_letter_rows"))


def _ms(column: str) -> str:
    return f"fromUnixTimestamp64Milli({column}, 'UTC')"


#: the analysts' views (each reads one table; FINAL inside, so analysts never need it)
VIEWS = (
    f"""CREATE OR REPLACE VIEW phospho.tasks AS
    SELECT task_id, project_id, session_id, window_id AS session_window_id, session_key, user_id, version_id,
        {_ms("created_at_ms")} AS created_at, {_ms("client_created_at_ms")} AS client_created_at,
        input, output, system_prompt, model, prompt_tokens, completion_tokens, total_tokens, cached_tokens,
        raw_input, raw_input_type_name, raw_output, raw_output_type_name,
        JSONExtract(ifNull(metadata, '{{}}'), 'Map(String, String)') AS metadata, metadata_json,
        ifNull(stream, false) AS stream, JSONExtract(ifNull(errors, '[]'), 'Array(String)') AS errors,
        ifNull(span_count, 0) AS span_count, ifNull(llm_call_count, 0) AS llm_call_count,
        JSONExtract(ifNull(span_models, '[]'), 'Array(String)') AS span_models,
        ifNull(span_input_tokens, 0) AS span_input_tokens, ifNull(span_output_tokens, 0) AS span_output_tokens,
        ifNull(llm_latency_ms, 0) AS llm_latency_ms, ifNull(llm_wall_ms, 0) AS llm_wall_ms,
        feedback_flag, feedback_notes, coalesce(feedback_flag, nullIf(eval_flag, 'undefined')) AS flag,
        if(isNotNull(feedback_flag), 'user', if(ifNull(eval_flag, 'undefined') != 'undefined', 'llm', NULL))
            AS flag_source,
        eval_flag, eval_reason, eval_model, eval_prompt_version, eval_cost_usd, {_ms("eval_at_ms")} AS evaluated_at,
        ifNull(language, '') AS language, sentiment_score, sentiment_magnitude, sentiment_label, sentiment_method,
        arrayDistinct(arrayConcat(JSONExtract(ifNull(events, '[]'), 'Array(String)'),
            JSONExtract(ifNull(llm_events, '[]'), 'Array(String)'))) AS events,
        JSONExtract(ifNull(llm_errors, '[]'), 'Array(String)') AS llm_errors, cost_usd, cost_note, analytics_version,
        isNotNull(analytics_version) AS analyzed,
        JSONExtract(ifNull(redactions, '{{}}'), 'Map(String, UInt32)') AS redactions
    FROM phospho_store.tasks FINAL
    WHERE isNotNull(input)""",
    f"""CREATE OR REPLACE VIEW phospho.spans AS
    SELECT event_id AS span_event_id, trace_id, span_id, parent_span_id, name, kind, task_id, session_id, user_id,
        link_method, step_index, {_ms("start_time_ms")} AS start_time, {_ms("end_time_ms")} AS end_time,
        end_time_ms - start_time_ms AS duration_ms, duration_us, status_code, status_message, operation, provider,
        request_model, response_model, input_tokens, output_tokens, cached_input_tokens, input_text, output_text,
        JSONExtract(ifNull(attributes, '{{}}'), 'Map(String, String)') AS attributes, attributes_json,
        JSONExtract(ifNull(errors, '[]'), 'Array(String)') AS errors, isNull(task_id) AS orphan,
        JSONExtract(ifNull(redactions, '{{}}'), 'Map(String, UInt32)') AS redactions
    FROM phospho_store.spans FINAL
    WHERE isNotNull(start_time_ms)""",
    f"""CREATE OR REPLACE VIEW phospho.feedback AS
    SELECT event_id AS feedback_id, task_id, session_id, user_id, flag, raw_flag, notes, source,
        {_ms("created_at_ms")} AS created_at, ifNull(orphan, true) AS orphan,
        JSONExtract(ifNull(redactions, '{{}}'), 'Map(String, UInt32)') AS redactions
    FROM phospho_store.feedback FINAL
    WHERE isNotNull(created_at_ms)""",
    f"""CREATE OR REPLACE VIEW phospho.sessions AS
    SELECT window_id, session_id, session_key, user_id, {_ms("start_ms")} AS start_time, {_ms("end_ms")} AS end_time,
        duration_ms / 1000 AS duration_s, task_count, first_input, last_input, total_tokens,
        success_count, failure_count, tasks_with_errors,
        if(empty(languages), '', arrayElement(mapKeys(languages), indexOf(mapValues(languages), arrayMax(mapValues(languages)))))
            AS language,
        languages, if(sentiment_count = 0, NULL, sentiment_sum / sentiment_count) AS sentiment_mean, sentiment_min,
        event_counts, cost_usd, analyzed_count
    FROM phospho_store.sessions FINAL
    WHERE is_deleted = 0""",
    # a user's figures are sums over their session windows (a window belongs to the user of its
    # latest task); inner names differ from the outer aliases, which would shadow the columns
    f"""CREATE OR REPLACE VIEW phospho.users AS
    SELECT uid AS user_id, sum(w_tasks) AS task_count, count() AS session_count,
        avg(w_tasks) AS avg_session_tasks, avg(w_duration_ms) / 1000 AS avg_session_duration_s,
        {_ms("min(w_start_ms)")} AS first_seen, {_ms("max(w_end_ms)")} AS last_seen, sum(w_tokens) AS total_tokens,
        sum(w_success) AS success_count, sum(w_failure) AS failure_count,
        if(sum(w_success) + sum(w_failure) = 0, NULL, sum(w_success) / (sum(w_success) + sum(w_failure))) AS success_ratio,
        sum(w_errors) AS tasks_with_errors, sumMap(w_languages) AS languages,
        if(sum(w_sentiment_count) = 0, NULL, sum(w_sentiment_sum) / sum(w_sentiment_count)) AS sentiment_mean,
        min(w_sentiment_min) AS sentiment_min, sumMap(w_events) AS event_counts, sum(w_cost) AS cost_usd
    FROM (SELECT assumeNotNull(user_id) AS uid, task_count AS w_tasks, duration_ms AS w_duration_ms,
              start_ms AS w_start_ms, end_ms AS w_end_ms, total_tokens AS w_tokens, success_count AS w_success,
              failure_count AS w_failure, tasks_with_errors AS w_errors, languages AS w_languages,
              sentiment_sum AS w_sentiment_sum, sentiment_count AS w_sentiment_count,
              sentiment_min AS w_sentiment_min, event_counts AS w_events, cost_usd AS w_cost
          FROM phospho_store.sessions FINAL WHERE is_deleted = 0 AND isNotNull(user_id))
    GROUP BY uid""",
    f"""CREATE OR REPLACE VIEW phospho.events AS
    SELECT event_name, task_id, session_id, user_id, score, score_type, label, source, detection_scope,
        analytics_version, {_ms("created_at_ms")} AS created_at, {_ms("detected_at_ms")} AS detected_at
    FROM phospho_store.events FINAL
    WHERE is_deleted = 0""",
    # every verdict on a task: the model's (one per task, its latest) and the user's feedback
    f"""CREATE OR REPLACE VIEW phospho.evaluations AS
    SELECT task_id, flag, 'llm' AS source, reason, model, prompt_version, cost_usd, session_id, user_id,
        {_ms("evaluated_at_ms")} AS created_at
    FROM phospho_store.evaluations FINAL
    UNION ALL
    SELECT task_id, assumeNotNull(feedback_flag) AS flag, 'user' AS source, ifNull(feedback_notes, '') AS reason,
        '' AS model, '' AS prompt_version, CAST(NULL AS Nullable(Float64)) AS cost_usd, session_id, user_id,
        {_ms("ifNull(feedback_at_ms, created_at_ms)")} AS created_at
    FROM phospho_store.tasks FINAL
    WHERE isNotNull(feedback_flag) AND isNotNull(input)""",
    f"""CREATE OR REPLACE VIEW phospho.topics AS
    SELECT topic_id, name, size, JSONExtract(examples, 'Array(String)') AS examples,
        JSONExtract(terms, 'Array(String)') AS terms, method, run_id, {_ms("created_at_ms")} AS created_at
    FROM phospho_store.topics FINAL""",
    f"""CREATE OR REPLACE VIEW phospho.task_topics AS
    SELECT task_id, topic_id, run_id, {_ms("created_at_ms")} AS created_at
    FROM phospho_store.task_topics FINAL""",
    f"""CREATE OR REPLACE VIEW phospho.dead_letters AS
    SELECT topic, partition, offset, key_base64, value_base64, reason, {_ms("received_at_ms")} AS received_at
    FROM phospho_store.dead_letters FINAL""",
)

V3 = Migration(3, "storage in phospho_store (tasks merged from each stage's partial rows), analytics columns, "
                  "views in phospho", _TABLES + _COPY + VIEWS + _DROP)
