"""Pydantic models of the wire contract: one model per Avro record in avro/*.avsc.

They mirror the .avsc files field by field (tests/unit/schemas/test_models_match_avsc.py proves it):
`timestamp-millis` longs are datetimes, `["null", T]` unions are `T | None`, maps are
`dict[str, str]` (the redaction counts: `dict[str, int]`), arrays are lists. Use them to validate decoded events:
`TaskEvent.model_validate(record)`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TaskEvent", "SpanEvent", "FeedbackEvent", "MODELS"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskEvent(_Event):
    event_id: str
    project_id: str
    task_id: str
    session_id: str
    session_id_generated: bool = False
    user_id: str | None = None
    version_id: str | None = None
    created_at: datetime
    client_created_at: datetime
    last_update: datetime | None = None
    sent_at: datetime
    input: str
    output: str | None = None
    system_prompt: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    raw_input: str | None = None
    raw_input_type_name: str | None = None
    raw_output: str | None = None
    raw_output_type_name: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    metadata_json: str = "{}"
    stream: bool = False
    errors: list[str] = Field(default_factory=list)
    redactions: dict[str, int] = Field(default_factory=dict)
    sdk_version: str = ""


class FeedbackEvent(_Event):
    event_id: str
    project_id: str
    task_id: str
    session_id: str | None = None
    user_id: str | None = None
    flag: str | None = None
    raw_flag: str | None = None
    notes: str | None = None
    source: str = "user"
    created_at: datetime
    sent_at: datetime
    errors: list[str] = Field(default_factory=list)
    redactions: dict[str, int] = Field(default_factory=dict)
    sdk_version: str = ""


class SpanEvent(_Event):
    event_id: str
    project_id: str
    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    name: str
    kind: str | None = None
    task_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    link_method: str | None = None
    step_index: int | None = None
    start_time: datetime
    end_time: datetime
    duration_us: int | None = None
    status_code: str = "UNSET"
    status_message: str | None = None
    operation: str | None = None
    provider: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    input_text: str | None = None
    output_text: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    attributes_json: str = "{}"
    sent_at: datetime
    errors: list[str] = Field(default_factory=list)
    redactions: dict[str, int] = Field(default_factory=dict)
    sdk_version: str = ""


#: event kind -> model
MODELS: dict[str, type[_Event]] = {"task": TaskEvent, "span": SpanEvent, "feedback": FeedbackEvent}
