"""Earlier schema versions (avro/history): events written by an older SDK still decode, with the
fields added since at their defaults, in both of the decoder's modes; a history file never changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from phospho_schemas import EventDecoder, SingleObjectSerializer, raw_schema, schema_fingerprint
from phospho_schemas.catalog import historical_schemas
from phospho_schemas.models import MODELS

EPOCH_MS = 1_700_000_000_000


def task_record() -> dict[str, Any]:
    return {"event_id": "1" * 32, "project_id": "p", "task_id": "t", "session_id": "s", "session_id_generated": False,
            "user_id": "u", "version_id": None, "created_at": EPOCH_MS, "client_created_at": EPOCH_MS,
            "last_update": None, "sent_at": EPOCH_MS + 5, "input": "hi", "output": "hello", "system_prompt": None,
            "model": "gpt-4o", "prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105, "cached_tokens": 64,
            "raw_input": None, "raw_input_type_name": None, "raw_output": None, "raw_output_type_name": None,
            "metadata": {}, "metadata_json": "{}", "stream": False, "errors": [], "sdk_version": "1"}


def span_record() -> dict[str, Any]:
    return {"event_id": "2" * 32, "project_id": "p", "trace_id": "a" * 32, "span_id": "b" * 16,
            "parent_span_id": None, "name": "chat", "kind": "CLIENT", "task_id": "t", "session_id": "s",
            "user_id": None, "link_method": "otlp", "step_index": None, "start_time": EPOCH_MS,
            "end_time": EPOCH_MS + 9, "duration_us": 9000, "status_code": "OK", "status_message": None,
            "operation": "chat", "provider": "openai", "request_model": "gpt-4o", "response_model": "gpt-4o",
            "input_tokens": 100, "output_tokens": 5, "cached_input_tokens": 64, "input_text": "hi",
            "output_text": "hello", "attributes": {}, "attributes_json": "{}", "sent_at": EPOCH_MS + 20,
            "errors": [], "sdk_version": "1"}


def as_written(decoded: dict[str, Any]) -> dict[str, Any]:
    """A decoded record with its datetimes back to the int milliseconds written."""
    return {k: (v - EPOCH) // timedelta(milliseconds=1) if isinstance(v, datetime) else v for k, v in decoded.items()}

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: (record name, fingerprint) of every shipped history file: a file once shipped is never edited,
#: since events on disk and in Kafka name it by this fingerprint
SHIPPED = {
    ("SpanEvent", "6094e321b4109a07"),  # version 1: before cached_input_tokens
    ("TaskEvent", "104386eec0209869"),  # version 1: before cached_tokens
    ("FeedbackEvent", "16ec0e09f9af4a0b"),  # versions 1 and 2: before redactions
    ("SpanEvent", "40e44d7c8e27a3f1"),  # version 2: before redactions
    ("TaskEvent", "5e562a271043c6f4"),  # version 2: before redactions
}

#: kind -> the field version 2 added, and a sample record
ADDED = {"span": ("cached_input_tokens", span_record), "task": ("cached_tokens", task_record)}


def _version_1(name: str, field: str) -> dict:
    """The history's schema of record `name` from before `field` (added in version 2)."""
    [schema] = [s for s in historical_schemas() if s["name"] == name and field not in {f["name"] for f in s["fields"]}]
    return schema


def test_history_holds_the_shipped_versions_unchanged() -> None:
    found = {(s["name"], schema_fingerprint(s).hex()) for s in historical_schemas()}
    assert SHIPPED <= found
    current = {schema_fingerprint(raw_schema(kind)).hex() for kind in ("task", "span", "feedback")}
    assert not current & {fp for _, fp in found}, "the current schema must not also be in the history"


@pytest.mark.parametrize("kind", sorted(ADDED))
@pytest.mark.parametrize("timestamps_as_ms", [False, True], ids=["datetimes", "ms"])
def test_an_event_of_version_1_decodes_with_the_new_field_null(kind: str, timestamps_as_ms: bool) -> None:
    field, sample = ADDED[kind]
    old = _version_1(raw_schema(kind)["name"], field)
    written = {k: v for k, v in sample().items() if k != field}
    value = SingleObjectSerializer(old)(written)

    decoded_kind, decoded = EventDecoder(timestamps_as_ms=timestamps_as_ms).decode(value)  # no add_schema needed

    assert decoded_kind == kind and decoded[field] is None
    plain = decoded if timestamps_as_ms else as_written(decoded)
    assert plain == {**written, field: None, "redactions": {}}  # version 3's field too, at its default
    if not timestamps_as_ms:
        assert isinstance(decoded["sent_at"], datetime)
        assert getattr(MODELS[kind].model_validate(decoded), field) is None


@pytest.mark.parametrize("kind", sorted(ADDED))
def test_an_event_of_the_current_version_carries_the_new_field(kind: str) -> None:
    field, sample = ADDED[kind]
    record = sample()
    _, decoded = EventDecoder(timestamps_as_ms=True).decode(SingleObjectSerializer(raw_schema(kind))(record))
    assert decoded[field] == record[field] is not None
