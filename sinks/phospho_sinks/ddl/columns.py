"""What every table and view of the analysts' `phospho` database holds, column by column: the
one source of the README's tables and of `phospho-stream describe VIEW`.

Types are as analysts see them in the view (DESCRIBE without the storage's
`SimpleAggregateFunction(anyLast, ...)` wrapper). A test holds this module equal to the
migrated views, name, type and order, so a column added to a view without its meaning fails it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Column", "ViewDoc", "VIEW_DOCS", "view_doc"]

_S, _NS = "String", "Nullable(String)"
_TIME, _NTIME = "DateTime64(3, 'UTC')", "Nullable(DateTime64(3, 'UTC'))"
_NI64, _NF64 = "Nullable(Int64)", "Nullable(Float64)"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    meaning: str


@dataclass(frozen=True)
class ViewDoc:
    name: str
    summary: str
    columns: tuple[Column, ...]


def _view(name: str, summary: str, *columns: tuple[str, str, str]) -> ViewDoc:
    return ViewDoc(name, summary, tuple(Column(*c) for c in columns))


_TASKS = _view(
    "tasks", "One row per task (a logged input and output), merged from what each stage wrote of it.",
    ("task_id", _S, "The task's id (the SDK's, or the one given to `log(task_id=...)`)."),
    ("project_id", _NS, "The project the app initialised the SDK with."),
    ("session_id", _NS, "The app's session id, or a generated `session_<hex>` when it gave none."),
    ("session_window_id", _NS, "The session window it belongs to (`phospho.sessions.window_id`)."),
    ("session_key", _NS, "What sessions are made by: `s:<session_id>`, else `u:<user_id>`, else `t:<task_id>`."),
    ("user_id", _NS, "The app's user id, if it gave one."),
    ("version_id", _NS, "The app version (`init(version_id=...)` or `metadata={\"version_id\": ...}`)."),
    ("created_at", _NTIME, "Event time of the task (UTC): `log(created_at=...)`, else when it was logged."),
    ("client_created_at", _NTIME, "The app's clock when the task was first logged (UTC)."),
    ("input", _NS, "The user's message, as text."),
    ("output", _NS, "The assistant's answer, as text (NULL when none was logged)."),
    ("system_prompt", _NS, "The system prompt, logged or found in the input's messages."),
    ("model", _NS, "The model the app logged for the task."),
    ("prompt_tokens", _NI64, "Input tokens of the task's usage, as logged."),
    ("completion_tokens", _NI64, "Output tokens of the task's usage, as logged."),
    ("total_tokens", _NI64, "Total tokens of the task's usage, as logged."),
    ("cached_tokens", _NI64, "Cached input tokens of the task's usage, as logged."),
    ("raw_input", _NS, "The logged input, lossless, as JSON text (NULL when it is the input string itself)."),
    ("raw_input_type_name", _NS, "The Python type of the logged input (`str`, `dict`, `ChatCompletion`...)."),
    ("raw_output", _NS, "The logged output, lossless, as JSON text (a list of chunks for a stream)."),
    ("raw_output_type_name", _NS, "The Python type of the logged output."),
    ("metadata", "Map(String, String)", "Logged metadata: dotted keys for nested dicts, non-strings as JSON text."),
    ("metadata_json", _NS, "Logged metadata exactly as logged, as JSON text."),
    ("stream", "Bool", "True when the output was streamed."),
    ("errors", "Array(String)", "What the SDK or the pipeline had to fix in the logged data (cut fields, placeholders)."),
    ("span_count", "UInt32", "How many steps (spans) the task has."),
    ("llm_call_count", "UInt32", "How many of its steps are LLM calls."),
    ("span_models", "Array(String)", "The models its LLM-call steps used."),
    ("span_input_tokens", "Int64", "Input tokens summed over its steps."),
    ("span_output_tokens", "Int64", "Output tokens summed over its steps."),
    ("llm_latency_ms", "Int64", "Time spent in its LLM calls, summed (ms)."),
    ("llm_wall_ms", "Int64", "From the start of its first LLM call to the end of its last (ms)."),
    ("feedback_flag", _NS, "The user's latest feedback: `success` or `failure` (NULL: none)."),
    ("feedback_notes", _NS, "The notes of that feedback."),
    ("flag", "Nullable(String)", "The user's feedback, else the LLM evaluation's verdict."),
    ("flag_source", "Nullable(String)", "Whose `flag` it is: `user` or `llm` (NULL: no flag)."),
    ("eval_flag", _NS, "The LLM evaluation's verdict: `success`, `failure` or `undefined` (NULL: not evaluated)."),
    ("eval_reason", _NS, "The LLM evaluation's reason for its verdict."),
    ("eval_model", _NS, "The model that evaluated the task."),
    ("eval_prompt_version", _NS, "The version of the evaluation prompt that asked it."),
    ("eval_cost_usd", _NF64, "What the evaluation call cost (USD)."),
    ("evaluated_at", "Nullable(DateTime64(3, 'UTC'))", "When the LLM evaluated the task (UTC)."),
    ("language", _S, "ISO 639-1 code of the input's language; '' when it cannot be told or not analysed yet."),
    ("sentiment_score", _NF64, "Sentiment of the input, -1..1 (VADER, English only; NULL otherwise)."),
    ("sentiment_magnitude", _NF64, "Strength of the sentiment, >= 0 (the sum over its sentences)."),
    ("sentiment_label", _NS, "`positive`, `negative`, `neutral` or `mixed` (NULL when not scored)."),
    ("sentiment_method", _NS, "How sentiment was found: `vader`, `unsupported_language` or `no_text`."),
    ("events", "Array(String)", "The names of the events detected in the task."),
    ("llm_errors", "Array(String)", "Why an LLM event detection could not answer for the task (the endpoint, a parse)."),
    ("cost_usd", _NF64, "What the task's model calls cost (USD); NULL when the model has no known price."),
    ("cost_note", _NS, "Where the price came from, or why there is none."),
    ("analytics_version", _NS, "The rules and config version of the analysis (`r<rules>-<config hash>`)."),
    ("analyzed", "UInt8", "1 once the analytics stage wrote its columns."),
    ("redactions", "Map(String, UInt32)", "How many values each PII detector redacted in the task."),
)

_SPANS = _view(
    "spans", "One row per step of a task (an OpenTelemetry span: an LLM call, a retrieval, a tool call...).",
    ("span_event_id", _S, "The span event's id."),
    ("trace_id", _NS, "The OpenTelemetry trace id (32 hex digits)."),
    ("span_id", _NS, "The OpenTelemetry span id (16 hex digits)."),
    ("parent_span_id", _NS, "The parent span's id."),
    ("name", _NS, "The span's name (`openai.chat`, `retriever.search`...)."),
    ("kind", _NS, "The OpenTelemetry span kind (CLIENT, INTERNAL...)."),
    ("task_id", _NS, "The task it is a step of (NULL: it found no task)."),
    ("session_id", _NS, "Its task's session id."),
    ("user_id", _NS, "Its task's user id."),
    ("link_method", _NS, "How it was linked to its task: `context`, `manual`, `auto` or `auto_time`."),
    ("step_index", "Nullable(Int32)", "Its position in `log(steps=[...])`."),
    ("start_time", _NTIME, "When it started (UTC)."),
    ("end_time", _NTIME, "When it ended (UTC)."),
    ("duration_ms", _NI64, "end_time - start_time (ms)."),
    ("duration_us", _NI64, "Its exact duration when known (µs)."),
    ("status_code", _NS, "`UNSET`, `OK` or `ERROR`."),
    ("status_message", _NS, "The status message of an error."),
    ("operation", _NS, "`gen_ai.operation.name` (`chat`, `embeddings`...)."),
    ("provider", _NS, "`gen_ai.provider.name` (or the older `gen_ai.system`)."),
    ("request_model", _NS, "The model asked for."),
    ("response_model", _NS, "The model that answered."),
    ("input_tokens", _NI64, "Input tokens of the call."),
    ("output_tokens", _NI64, "Output tokens of the call."),
    ("cached_input_tokens", _NI64, "Cached input tokens of the call."),
    ("input_text", _NS, "The step's input, as text."),
    ("output_text", _NS, "The step's output, as text."),
    ("attributes", "Map(String, String)", "Its other attributes (non-strings as JSON text)."),
    ("attributes_json", _NS, "Its attributes as JSON text."),
    ("errors", "Array(String)", "What the SDK had to fix in it."),
    ("orphan", "UInt8", "1 when it belongs to no task."),
    ("redactions", "Map(String, UInt32)", "How many values each PII detector redacted in the span."),
)

_FEEDBACK = _view(
    "feedback", "One row per feedback event (`phospho.user_feedback`); a task's latest is also on its row.",
    ("feedback_id", _S, "The feedback event's id."),
    ("task_id", _NS, "The task it is about."),
    ("session_id", _NS, "That task's session id (once the task is known)."),
    ("user_id", _NS, "That task's user id (once the task is known)."),
    ("flag", _NS, "`success` or `failure`."),
    ("raw_flag", _NS, "The flag as given, when it had to be read as success or failure."),
    ("notes", _NS, "The notes given with it."),
    ("source", _NS, "Who gave it (`user` unless told)."),
    ("created_at", _NTIME, "When it was given (UTC)."),
    ("orphan", "Bool", "True while no task with its task_id was seen."),
    ("redactions", "Map(String, UInt32)", "How many values each PII detector redacted in it."),
)

_SESSIONS = _view(
    "sessions", "One row per session window: a session's tasks with no gap over 30 minutes.",
    ("window_id", _S, "The window's id (`<session_key>|<first task id>`)."),
    ("session_id", _S, "The app's session id (or the generated one)."),
    ("session_key", _S, "What the window was made by (see `tasks.session_key`)."),
    ("user_id", _NS, "The user of its latest task."),
    ("start_time", _TIME, "Its first task's time (UTC)."),
    ("end_time", _TIME, "Its last task's time (UTC)."),
    ("duration_s", "Float64", "end_time - start_time (seconds)."),
    ("task_count", "UInt32", "How many tasks it has."),
    ("first_input", _S, "The start of its first task's input."),
    ("last_input", _S, "The start of its last task's input (what ended the session)."),
    ("total_tokens", "Int64", "Tokens of its tasks and their steps."),
    ("success_count", "UInt32", "Its tasks flagged `success`."),
    ("failure_count", "UInt32", "Its tasks flagged `failure`."),
    ("tasks_with_errors", "UInt32", "Its tasks with errors."),
    ("language", _S, "Its most frequent language ('' when none could be told)."),
    ("languages", "Map(String, UInt32)", "Its analysed tasks per language."),
    ("sentiment_mean", "Nullable(Float64)", "The mean sentiment score of its scored tasks."),
    ("sentiment_min", _NF64, "Its lowest sentiment score."),
    ("event_counts", "Map(String, UInt32)", "Its detections per event."),
    ("cost_usd", "Float64", "What its tasks cost (USD; tasks without a price count 0)."),
    ("analyzed_count", "UInt32", "How many of its tasks the analytics stage analysed."),
)

_USERS = _view(
    "users", "One row per user: the sums of the session windows they ended (a window is its latest task's user's).",
    ("user_id", _S, "The app's user id."),
    ("task_count", "UInt64", "Tasks in their sessions."),
    ("session_count", "UInt64", "Their session windows."),
    ("avg_session_tasks", "Float64", "Tasks per session, on average."),
    ("avg_session_duration_s", "Float64", "Session duration, on average (seconds)."),
    ("first_seen", _TIME, "Their first session's start (UTC)."),
    ("last_seen", _TIME, "Their last session's end (UTC)."),
    ("total_tokens", "Int64", "Tokens of their sessions."),
    ("success_count", "UInt64", "Their tasks flagged `success`."),
    ("failure_count", "UInt64", "Their tasks flagged `failure`."),
    ("success_ratio", "Nullable(Float64)", "success / (success + failure); NULL without flags."),
    ("tasks_with_errors", "UInt64", "Their tasks with errors."),
    ("languages", "Map(String, UInt64)", "Their analysed tasks per language."),
    ("sentiment_mean", "Nullable(Float64)", "The mean sentiment score of their scored tasks."),
    ("sentiment_min", _NF64, "Their lowest sentiment score."),
    ("event_counts", "Map(String, UInt64)", "Their detections per event."),
    ("cost_usd", "Float64", "What their tasks cost (USD)."),
)

_EVENTS = _view(
    "events", "One row per detection of an event (the project config's `events:`) in a task.",
    ("event_name", _S, "The event's name, as defined in the config."),
    ("task_id", _S, "The task it was detected in."),
    ("session_id", _S, "That task's session id."),
    ("user_id", _NS, "That task's user id."),
    ("score", "Float64", "The detection's score (1.0 for keywords and regex)."),
    ("score_type", "LowCardinality(String)", "`confidence`, `range` or `category`."),
    ("label", _NS, "The category, for a category score."),
    ("source", "LowCardinality(String)", "What detected it: `keyword`, `regex` or `llm`."),
    ("detection_scope", "LowCardinality(String)", "What was read: `task`, `session`, `task_input_only`, `task_output_only`, `system_prompt`."),
    ("analytics_version", _S, "The rules and config version that detected it."),
    ("created_at", _TIME, "The task's time (UTC)."),
    ("detected_at", _TIME, "When it was detected (UTC)."),
)

_EVALUATIONS = _view(
    "evaluations", "Every verdict on a task: the LLM evaluation's (its latest) and the user's feedback.",
    ("task_id", _S, "The task judged."),
    ("flag", _S, "`success`, `failure` (or `undefined` from the LLM)."),
    ("source", _S, "`llm` or `user`."),
    ("reason", _S, "The LLM's reason, or the user's notes."),
    ("model", _S, "The evaluating model ('' for a user)."),
    ("prompt_version", _S, "The evaluation prompt's version ('' for a user)."),
    ("cost_usd", "Nullable(Float64)", "What the evaluation cost (USD; NULL for a user)."),
    ("session_id", "Nullable(String)", "The task's session id."),
    ("user_id", "Nullable(String)", "The task's user id."),
    ("created_at", _NTIME, "When the verdict was made (UTC)."),
)

_TOPICS = _view(
    "topics", "The topics of each clustering run of the evaluation stage.",
    ("topic_id", "UInt32", "The topic's number in its run."),
    ("name", _S, "Its name."),
    ("size", "UInt32", "How many tasks it holds."),
    ("examples", "Array(String)", "Inputs of tasks it holds."),
    ("terms", "Array(String)", "Its most telling terms."),
    ("method", "LowCardinality(String)", "How the run clustered (`tfidf-kmeans`, `embeddings-kmeans`...)."),
    ("run_id", _S, "The run."),
    ("created_at", _TIME, "When the run made it (UTC)."),
)

_TASK_TOPICS = _view(
    "task_topics", "Which topic of a run each task is in.",
    ("task_id", _S, "The task."),
    ("topic_id", "UInt32", "Its topic (`topics.topic_id` of the same run)."),
    ("run_id", _S, "The run."),
    ("created_at", _TIME, "When the run placed it (UTC)."),
)

_DEAD_LETTERS = _view(
    "dead_letters", "Input the pipeline could not process, with the reason and where it came from.",
    ("topic", _S, "The Kafka topic it was read from."),
    ("partition", "UInt32", "Its partition."),
    ("offset", "UInt64", "Its offset."),
    ("key_base64", _NS, "The message key, base64 (up to 512 KB)."),
    ("value_base64", _S, "The message value, base64 (up to 512 KB)."),
    ("reason", _S, "Why it could not be processed."),
    ("received_at", _TIME, "When the pipeline gave up on it (UTC)."),
)

_DELETIONS = _view(
    "deletions", "The audit of `phospho-stream delete-user`: one row per deletion, never any content.",
    ("request_id", _S, "The deletion's id."),
    ("user_id", _S, "The user whose data was removed."),
    ("requested_by", _S, "Who asked (the OS user that ran the command)."),
    ("requested_at", _TIME, "When it was asked (UTC)."),
    ("executed_at", _TIME, "When the rows were removed (UTC)."),
    ("counts", "Map(String, UInt64)", "Rows removed per view (tasks, spans, feedback, events, evaluations, sessions, task_topics)."),
    ("rows_removed", "UInt64", "Rows removed in all."),
)

_SCHEMA_MIGRATIONS = _view(
    "schema_migrations", "The storage migrations applied to this store (a table, not a view).",
    ("version", "UInt32", "The migration's number."),
    ("description", _S, "What it did."),
    ("applied_at", _TIME, "When it was applied (UTC)."),
)

#: every table and view of the `phospho` database, in the order the README lists them
VIEW_DOCS: tuple[ViewDoc, ...] = (_TASKS, _SESSIONS, _USERS, _EVENTS, _SPANS, _FEEDBACK, _EVALUATIONS, _TOPICS,
                                  _TASK_TOPICS, _DEAD_LETTERS, _DELETIONS, _SCHEMA_MIGRATIONS)


def view_doc(name: str) -> ViewDoc:
    """The doc of `name` (`tasks` or `phospho.tasks`); KeyError naming the known ones."""
    short = name.removeprefix("phospho.")
    for doc in VIEW_DOCS:
        if doc.name == short:
            return doc
    raise KeyError(f"no view {name!r}: one of {', '.join(d.name for d in VIEW_DOCS)}")
