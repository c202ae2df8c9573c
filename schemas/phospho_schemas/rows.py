"""The row contract between the stages and the sink: one typed row per storage table.

Stages produce rows as JSONEachRow messages on `Topics.rows(table)`; the sink writes them to
`phospho_store.<table>` unchanged. A row type lists every column its table has (the sink's
migrations create them; a test holds the two together). Timestamps are `*_ms` integers.

`tasks` is merged from partial rows: each stage writes only the columns it owns (a key left
out is NULL, which ClickHouse's merge ignores), so the core, the session rules and the
analysis stages each add to a task's one row without reading it. Lists and maps in `tasks` are
JSON text; the views type them. The other tables are versioned: the row with the highest
`version` of an id wins (`is_deleted` retracts a session window or an event).
"""

from __future__ import annotations

from typing import TypedDict

__all__ = [
    "ROWS_VERSION",
    "TABLES",
    "STORE_DATABASE",
    "TaskRow",
    "SpanRow",
    "FeedbackRow",
    "SessionRow",
    "EventRow",
    "EvaluationRow",
    "TopicRow",
    "TaskTopicRow",
    "DeadLetterRow",
    "TASK_COLUMN_OWNERS",
]

#: bumped whenever a row type changes (the sink's migrations follow it)
ROWS_VERSION = 3

#: the database holding the storage tables (analysts read the views in `phospho`)
STORE_DATABASE = "phospho_store"


class TaskRow(TypedDict, total=False):
    task_id: str  # always present
    # -- the core stage, from the task event -------------------------------------------------
    event_id: str
    project_id: str
    session_id: str
    session_id_generated: bool
    session_key: str
    user_id: str | None
    version_id: str | None
    created_at_ms: int
    client_created_at_ms: int
    last_update_ms: int | None
    sent_at_ms: int
    input: str
    output: str | None
    system_prompt: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cached_tokens: int | None
    raw_input: str | None
    raw_input_type_name: str | None
    raw_output: str | None
    raw_output_type_name: str | None
    metadata: str  # JSON object, string values (dotted keys)
    metadata_json: str  # JSON object, as logged
    stream: bool
    errors: str  # JSON array of strings
    sdk_version: str
    redactions: str  # JSON object: detector -> how many values it redacted
    # -- the core stage, from the task's spans and feedback ----------------------------------
    span_count: int
    llm_call_count: int
    span_models: str  # JSON array of strings
    span_input_tokens: int
    span_output_tokens: int
    llm_latency_ms: int
    llm_wall_ms: int
    feedback_flag: str | None
    feedback_notes: str | None
    feedback_at_ms: int | None
    # -- the session rules --------------------------------------------------------------------
    window_id: str
    # -- the analytics stage ------------------------------------------------------------------
    language: str
    sentiment_score: float | None
    sentiment_magnitude: float | None
    sentiment_label: str | None
    sentiment_method: str
    events: str  # JSON array of event names
    cost_usd: float | None
    cost_note: str
    analytics_truncated: str  # JSON array of the fields cut to the analysed length
    analytics_errors: str  # JSON array of strings
    analytics_version: str
    analyzed_at_ms: int
    # -- the evaluation stage -----------------------------------------------------------------
    eval_flag: str | None  # success | failure | undefined
    eval_reason: str
    eval_model: str
    eval_prompt_version: str
    eval_cost_usd: float | None  # every LLM call the evaluation stage made for the task (verdict and events)
    eval_at_ms: int
    llm_events: str  # JSON array of the LLM events detected
    llm_errors: str  # JSON array: "<event>: why its answer is missing"


#: which stage writes which columns of `tasks` (every column but task_id has one owner)
TASK_COLUMN_OWNERS: dict[str, tuple[str, ...]] = {
    "core": tuple(k for k in TaskRow.__annotations__ if k not in ("task_id", "window_id", "llm_events", "llm_errors")
                  and not k.startswith(("language", "sentiment", "events", "cost", "analy", "eval_"))),
    "sessions": ("window_id",),
    "analytics": ("language", "sentiment_score", "sentiment_magnitude", "sentiment_label", "sentiment_method",
                  "events", "cost_usd", "cost_note", "analytics_truncated", "analytics_errors", "analytics_version",
                  "analyzed_at_ms"),
    "evaluation": ("eval_flag", "eval_reason", "eval_model", "eval_prompt_version", "eval_cost_usd", "eval_at_ms",
                   "llm_events", "llm_errors"),
}


class SpanRow(TypedDict, total=False):
    """Merged from partial rows, like TaskRow: the span itself, then its task's session and user."""

    event_id: str  # always present
    project_id: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str | None
    task_id: str | None
    session_id: str | None
    user_id: str | None
    link_method: str | None
    step_index: int | None
    start_time_ms: int
    end_time_ms: int
    duration_us: int | None
    status_code: str
    status_message: str | None
    operation: str | None
    provider: str | None
    request_model: str | None
    response_model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    input_text: str | None
    output_text: str | None
    attributes: str  # JSON object, string values (dotted keys)
    attributes_json: str
    errors: str  # JSON array of strings
    redactions: str  # JSON object: detector -> count


class FeedbackRow(TypedDict, total=False):
    """Merged from partial rows, like TaskRow: the feedback itself, then its task's session."""

    event_id: str  # always present
    project_id: str
    task_id: str
    session_id: str | None
    user_id: str | None
    flag: str | None
    raw_flag: str | None
    notes: str | None
    source: str
    created_at_ms: int
    errors: str  # JSON array of strings
    redactions: str  # JSON object: detector -> count
    orphan: bool  # no task for it (yet): written again with session and user when the task comes


class SessionRow(TypedDict):
    window_id: str
    session_key: str
    session_id: str
    user_id: str | None
    start_ms: int
    end_ms: int
    duration_ms: int
    task_count: int
    first_input: str
    last_input: str
    total_tokens: int
    success_count: int
    failure_count: int
    tasks_with_errors: int
    languages: dict[str, int]  # ISO 639-1 code -> tasks
    sentiment_sum: float
    sentiment_count: int
    sentiment_min: float | None
    event_counts: dict[str, int]
    cost_usd: float
    analyzed_count: int
    version: int
    is_deleted: int


class EventRow(TypedDict):
    task_id: str
    event_name: str
    source: str  # keyword | regex | llm
    session_id: str
    user_id: str | None
    detection_scope: str
    score: float
    score_type: str
    label: str | None
    analytics_version: str
    created_at_ms: int  # the task's time
    detected_at_ms: int
    version: int
    is_deleted: int


class EvaluationRow(TypedDict):
    """The model's latest verdict on a task (the user's feedback is in TaskRow)."""

    task_id: str
    flag: str  # success | failure | undefined
    reason: str
    model: str
    prompt_version: str
    cost_usd: float | None
    session_id: str
    user_id: str | None
    created_at_ms: int  # the task's time
    evaluated_at_ms: int
    version: int


class TopicRow(TypedDict):
    run_id: str
    topic_id: int
    name: str
    size: int
    examples: str  # JSON array of task inputs
    terms: str  # JSON array of the cluster's top terms
    method: str  # tfidf-kmeans | embeddings-kmeans ...
    created_at_ms: int


class TaskTopicRow(TypedDict):
    run_id: str
    task_id: str
    topic_id: int
    created_at_ms: int


class DeadLetterRow(TypedDict):
    topic: str
    partition: int
    offset: int
    key_base64: str | None
    value_base64: str
    reason: str
    received_at_ms: int


#: storage table (in STORE_DATABASE) -> its row type; each has a row topic `Topics.rows(table)`
TABLES: dict[str, type] = {
    "tasks": TaskRow,
    "spans": SpanRow,
    "feedback": FeedbackRow,
    "sessions": SessionRow,
    "events": EventRow,
    "evaluations": EvaluationRow,
    "topics": TopicRow,
    "task_topics": TaskTopicRow,
}
