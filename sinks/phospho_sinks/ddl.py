"""Migrations 1 and 2: the pipeline's storage tables and the analysts' views (database `phospho`).

Storage is idempotent under at-least-once delivery. Each table is a ReplacingMergeTree keyed
by what identifies a row (task_id, a span's or a feedback's event_id, a session window's id,
a dead letter's topic/partition/offset), and the row with the highest `version` wins.
Session windows have `is_deleted` for the tombstones of windows merged away. Timestamps are
stored as `*_ms Int64` (unambiguous in every input format); the views convert them.

The views show each row once (FINAL inside, so analysts never need it):
tasks, spans, sessions, users, feedback, dead_letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Migration", "V1", "V2", "MIGRATIONS"]


@dataclass(frozen=True)
class Migration:
    """One version of the schema: idempotent statements (IF NOT EXISTS / OR REPLACE), so that a
    migration interrupted midway can run again."""

    version: int
    description: str
    statements: Sequence[str]


_TABLES = (
    """CREATE TABLE IF NOT EXISTS phospho.task_rows (
        task_id String, event_id String, project_id LowCardinality(String),
        session_id String, session_id_generated Bool, session_key String, window_id String,
        user_id Nullable(String), version_id Nullable(String),
        created_at_ms Int64, client_created_at_ms Int64, last_update_ms Nullable(Int64), sent_at_ms Int64,
        input String, output Nullable(String), system_prompt Nullable(String), model Nullable(String),
        prompt_tokens Nullable(Int64), completion_tokens Nullable(Int64), total_tokens Nullable(Int64),
        raw_input Nullable(String), raw_input_type_name Nullable(String),
        raw_output Nullable(String), raw_output_type_name Nullable(String),
        metadata Map(String, String), metadata_json String, stream Bool, errors Array(String), sdk_version String,
        span_count UInt32, llm_call_count UInt32, span_models Array(String),
        span_input_tokens Int64, span_output_tokens Int64, llm_latency_ms Int64, llm_wall_ms Int64,
        version UInt64, written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree(version) ORDER BY (task_id)""",
    """CREATE TABLE IF NOT EXISTS phospho.span_rows (
        event_id String, project_id LowCardinality(String), trace_id String, span_id String,
        parent_span_id Nullable(String), name String, kind Nullable(String),
        task_id Nullable(String), session_id Nullable(String), user_id Nullable(String),
        link_method Nullable(String), step_index Nullable(Int32),
        start_time_ms Int64, end_time_ms Int64, duration_us Nullable(Int64),
        status_code LowCardinality(String), status_message Nullable(String),
        operation Nullable(String), provider Nullable(String), request_model Nullable(String),
        response_model Nullable(String), input_tokens Nullable(Int64), output_tokens Nullable(Int64),
        input_text Nullable(String), output_text Nullable(String),
        attributes Map(String, String), attributes_json String, errors Array(String),
        orphan Bool, version UInt64, written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree(version) ORDER BY (event_id)""",
    """CREATE TABLE IF NOT EXISTS phospho.feedback_rows (
        event_id String, project_id LowCardinality(String), task_id String,
        session_id Nullable(String), user_id Nullable(String),
        flag LowCardinality(Nullable(String)), raw_flag Nullable(String), notes Nullable(String),
        source String, created_at_ms Int64, errors Array(String),
        orphan Bool, version UInt64, written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree(version) ORDER BY (event_id)""",
    """CREATE TABLE IF NOT EXISTS phospho.session_windows (
        window_id String, session_key String, session_id String, user_id Nullable(String),
        start_ms Int64, end_ms Int64, duration_ms Int64, task_count UInt32,
        first_input String, last_input String, total_tokens Int64,
        version UInt64, is_deleted UInt8, written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY (window_id)""",
    """CREATE TABLE IF NOT EXISTS phospho.dead_letter_rows (
        topic String, partition UInt32, offset UInt64, key_base64 Nullable(String),
        value_base64 String, reason String, received_at_ms Int64,
        written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY (topic, partition, offset)""",
)

# the latest feedback of each task (a task flagged twice counts once, with its last flag)
_LATEST_FEEDBACK = """(SELECT task_id, toNullable(argMax(flag, created_at_ms)) AS flag,
        toNullable(argMax(notes, created_at_ms)) AS notes
    FROM phospho.feedback_rows FINAL GROUP BY task_id)"""

_VIEWS = (
    f"""CREATE OR REPLACE VIEW phospho.tasks AS
    SELECT t.task_id AS task_id, t.project_id AS project_id, t.session_id AS session_id,
        t.window_id AS session_window_id, t.user_id AS user_id, t.version_id AS version_id,
        fromUnixTimestamp64Milli(t.created_at_ms, 'UTC') AS created_at,
        fromUnixTimestamp64Milli(t.client_created_at_ms, 'UTC') AS client_created_at,
        t.input AS input, t.output AS output, t.system_prompt AS system_prompt, t.model AS model,
        t.prompt_tokens AS prompt_tokens, t.completion_tokens AS completion_tokens, t.total_tokens AS total_tokens,
        t.raw_input AS raw_input, t.raw_output AS raw_output, t.metadata AS metadata, t.metadata_json AS metadata_json,
        t.stream AS stream, t.errors AS errors, t.span_count AS span_count, t.llm_call_count AS llm_call_count,
        t.span_models AS span_models, t.span_input_tokens AS span_input_tokens,
        t.span_output_tokens AS span_output_tokens, t.llm_latency_ms AS llm_latency_ms, t.llm_wall_ms AS llm_wall_ms,
        f.flag AS feedback_flag, f.notes AS feedback_notes
    FROM phospho.task_rows AS t FINAL
    LEFT JOIN {_LATEST_FEEDBACK} AS f ON f.task_id = t.task_id""",
    """CREATE OR REPLACE VIEW phospho.spans AS
    SELECT event_id AS span_event_id, trace_id, span_id, parent_span_id, name, kind, task_id, session_id, user_id,
        link_method, step_index, fromUnixTimestamp64Milli(start_time_ms, 'UTC') AS start_time,
        fromUnixTimestamp64Milli(end_time_ms, 'UTC') AS end_time, end_time_ms - start_time_ms AS duration_ms,
        status_code, status_message, operation, provider, request_model, response_model, input_tokens, output_tokens,
        input_text, output_text, attributes, attributes_json, errors, orphan
    FROM phospho.span_rows FINAL""",
    """CREATE OR REPLACE VIEW phospho.feedback AS
    SELECT f.event_id AS feedback_id, f.task_id AS task_id,
        coalesce(f.session_id, t.session_id) AS session_id, coalesce(f.user_id, t.user_id) AS user_id,
        f.flag AS flag, f.raw_flag AS raw_flag, f.notes AS notes, f.source AS source,
        fromUnixTimestamp64Milli(f.created_at_ms, 'UTC') AS created_at, t.task_id IS NULL AS orphan
    FROM phospho.feedback_rows AS f FINAL
    LEFT JOIN (SELECT task_id, session_id, user_id FROM phospho.task_rows FINAL) AS t ON t.task_id = f.task_id
    SETTINGS join_use_nulls = 1""",
    f"""CREATE OR REPLACE VIEW phospho.sessions AS
    SELECT w.window_id AS window_id, w.session_id AS session_id, w.session_key AS session_key, w.user_id AS user_id,
        fromUnixTimestamp64Milli(w.start_ms, 'UTC') AS start_time, fromUnixTimestamp64Milli(w.end_ms, 'UTC') AS end_time,
        w.duration_ms / 1000 AS duration_s, w.task_count AS task_count, w.first_input AS first_input,
        w.last_input AS last_input, w.total_tokens AS total_tokens,
        ifNull(c.success_count, 0) AS success_count, ifNull(c.failure_count, 0) AS failure_count
    FROM phospho.session_windows AS w FINAL
    LEFT JOIN (
        SELECT t.window_id AS window_id, countIf(fb.flag = 'success') AS success_count,
            countIf(fb.flag = 'failure') AS failure_count
        FROM {_LATEST_FEEDBACK} AS fb
        INNER JOIN (SELECT task_id, window_id FROM phospho.task_rows FINAL) AS t ON t.task_id = fb.task_id
        GROUP BY t.window_id
    ) AS c ON c.window_id = w.window_id
    WHERE w.is_deleted = 0""",
    # inner aliases are `uid`: an alias named like the column would shadow it in WHERE clauses
    f"""CREATE OR REPLACE VIEW phospho.users AS
    SELECT u.uid AS user_id, u.task_count AS task_count, ifNull(s.session_count, 0) AS session_count,
        s.avg_session_tasks AS avg_session_tasks, s.avg_session_duration_s AS avg_session_duration_s,
        fromUnixTimestamp64Milli(u.first_seen_ms, 'UTC') AS first_seen,
        fromUnixTimestamp64Milli(u.last_seen_ms, 'UTC') AS last_seen, u.total_tokens AS total_tokens,
        ifNull(fb.success_count, 0) AS success_count, ifNull(fb.failure_count, 0) AS failure_count,
        if(ifNull(fb.success_count, 0) + ifNull(fb.failure_count, 0) = 0, NULL,
           fb.success_count / (fb.success_count + fb.failure_count)) AS success_ratio
    FROM (SELECT assumeNotNull(user_id) AS uid, count() AS task_count, min(created_at_ms) AS first_seen_ms,
              max(created_at_ms) AS last_seen_ms, sum(ifNull(total_tokens, 0)) AS total_tokens
          FROM phospho.task_rows FINAL WHERE isNotNull(user_id) GROUP BY uid) AS u
    LEFT JOIN (SELECT assumeNotNull(user_id) AS uid, count() AS session_count,
                   toNullable(avg(task_count)) AS avg_session_tasks, toNullable(avg(duration_ms) / 1000) AS avg_session_duration_s
               FROM phospho.session_windows FINAL WHERE is_deleted = 0 AND isNotNull(user_id) GROUP BY uid) AS s
        ON s.uid = u.uid
    LEFT JOIN (SELECT assumeNotNull(t.user_id) AS uid, countIf(f.flag = 'success') AS success_count,
                   countIf(f.flag = 'failure') AS failure_count
               FROM {_LATEST_FEEDBACK} AS f
               INNER JOIN (SELECT task_id, user_id FROM phospho.task_rows FINAL WHERE isNotNull(user_id)) AS t
                   ON t.task_id = f.task_id
               GROUP BY uid) AS fb ON fb.uid = u.uid""",
    """CREATE OR REPLACE VIEW phospho.dead_letters AS
    SELECT topic, partition, offset, key_base64, value_base64, reason,
        fromUnixTimestamp64Milli(received_at_ms, 'UTC') AS received_at
    FROM phospho.dead_letter_rows FINAL""",
)

V1 = Migration(1, "pipeline storage tables and analyst views", _TABLES + _VIEWS)

# Migration 2: the views read one table each (no joins), so that insight queries over 10M tasks
# answer in under a second. The workers now write what the joins computed: a task row carries
# its latest feedback (written again when feedback comes), a session window its feedback
# counts and tasks with errors, a feedback row its task's session and user (or orphan); users
# are sums over their windows. Rows written before this migration keep their feedback in
# feedback_rows only.
_V2_COLUMNS = (
    """ALTER TABLE phospho.task_rows
        ADD COLUMN IF NOT EXISTS feedback_flag LowCardinality(Nullable(String)) AFTER llm_wall_ms,
        ADD COLUMN IF NOT EXISTS feedback_notes Nullable(String) AFTER feedback_flag""",
    """ALTER TABLE phospho.session_windows
        ADD COLUMN IF NOT EXISTS success_count UInt32 DEFAULT 0 AFTER total_tokens,
        ADD COLUMN IF NOT EXISTS failure_count UInt32 DEFAULT 0 AFTER success_count,
        ADD COLUMN IF NOT EXISTS tasks_with_errors UInt32 DEFAULT 0 AFTER failure_count""",
    # lookups the dashboard makes by something other than the tables' keys: a session's tasks,
    # a user's tasks, a task's spans (bloom filters skip the granules that cannot match)
    """ALTER TABLE phospho.task_rows
        ADD INDEX IF NOT EXISTS task_rows_window window_id TYPE bloom_filter(0.01) GRANULARITY 1,
        ADD INDEX IF NOT EXISTS task_rows_user user_id TYPE bloom_filter(0.01) GRANULARITY 1""",
    """ALTER TABLE phospho.span_rows
        ADD INDEX IF NOT EXISTS span_rows_task task_id TYPE bloom_filter(0.01) GRANULARITY 1""",
)

_V2_VIEWS = (
    """CREATE OR REPLACE VIEW phospho.tasks AS
    SELECT task_id, project_id, session_id, window_id AS session_window_id, user_id, version_id,
        fromUnixTimestamp64Milli(created_at_ms, 'UTC') AS created_at,
        fromUnixTimestamp64Milli(client_created_at_ms, 'UTC') AS client_created_at,
        input, output, system_prompt, model, prompt_tokens, completion_tokens, total_tokens,
        raw_input, raw_output, metadata, metadata_json, stream, errors, span_count, llm_call_count,
        span_models, span_input_tokens, span_output_tokens, llm_latency_ms, llm_wall_ms,
        feedback_flag, feedback_notes
    FROM phospho.task_rows FINAL""",
    # spans: their exact duration too (durations under a millisecond show as 0 in duration_ms)
    """CREATE OR REPLACE VIEW phospho.spans AS
    SELECT event_id AS span_event_id, trace_id, span_id, parent_span_id, name, kind, task_id, session_id, user_id,
        link_method, step_index, fromUnixTimestamp64Milli(start_time_ms, 'UTC') AS start_time,
        fromUnixTimestamp64Milli(end_time_ms, 'UTC') AS end_time, end_time_ms - start_time_ms AS duration_ms,
        duration_us, status_code, status_message, operation, provider, request_model, response_model, input_tokens,
        output_tokens, input_text, output_text, attributes, attributes_json, errors, orphan
    FROM phospho.span_rows FINAL""",
    """CREATE OR REPLACE VIEW phospho.feedback AS
    SELECT event_id AS feedback_id, task_id, session_id, user_id, flag, raw_flag, notes, source,
        fromUnixTimestamp64Milli(created_at_ms, 'UTC') AS created_at, orphan
    FROM phospho.feedback_rows FINAL""",
    """CREATE OR REPLACE VIEW phospho.sessions AS
    SELECT window_id, session_id, session_key, user_id,
        fromUnixTimestamp64Milli(start_ms, 'UTC') AS start_time, fromUnixTimestamp64Milli(end_ms, 'UTC') AS end_time,
        duration_ms / 1000 AS duration_s, task_count, first_input, last_input, total_tokens,
        success_count, failure_count, tasks_with_errors
    FROM phospho.session_windows FINAL
    WHERE is_deleted = 0""",
    # a user's figures are sums over their session windows (a window belongs to the user of its
    # latest task): 2M windows read instead of 10M tasks, and each window row is final per version
    # (inner names differ from the outer aliases: an alias named like a column would shadow it)
    """CREATE OR REPLACE VIEW phospho.users AS
    SELECT uid AS user_id, sum(w_tasks) AS task_count, count() AS session_count,
        avg(w_tasks) AS avg_session_tasks, avg(w_duration_ms) / 1000 AS avg_session_duration_s,
        fromUnixTimestamp64Milli(min(w_start_ms), 'UTC') AS first_seen,
        fromUnixTimestamp64Milli(max(w_end_ms), 'UTC') AS last_seen, sum(w_tokens) AS total_tokens,
        sum(w_success) AS success_count, sum(w_failure) AS failure_count,
        if(sum(w_success) + sum(w_failure) = 0, NULL, sum(w_success) / (sum(w_success) + sum(w_failure))) AS success_ratio,
        sum(w_errors) AS tasks_with_errors
    FROM (SELECT assumeNotNull(user_id) AS uid, task_count AS w_tasks, duration_ms AS w_duration_ms,
              start_ms AS w_start_ms, end_ms AS w_end_ms, total_tokens AS w_tokens, success_count AS w_success,
              failure_count AS w_failure, tasks_with_errors AS w_errors
          FROM phospho.session_windows FINAL WHERE is_deleted = 0 AND isNotNull(user_id))
    GROUP BY uid""",
)

V2 = Migration(2, "views without joins: feedback carried by task rows and session windows", _V2_COLUMNS + _V2_VIEWS)

#: every migration of the project, in order
MIGRATIONS: tuple[Migration, ...] = (V1, V2)
