"""Queued events -> Avro records of the wire contract (phospho_schemas), in the sender thread.

Typed fields come from the keys phospho defines; every other key of the logged dict goes to
`metadata_json` (lossless JSON) and `metadata` (flattened string map). Free text is capped at
`max_field_chars` characters; every coercion is recorded in the record's `errors`.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _encode_str
from typing import Any

from .._core.extract import cached_tokens
from .._core.ids import uuid4_hex
from .._core.queue import Event
from .jsonsafe import dumps, flatten

__all__ = ["task_record", "feedback_record", "TASK_KEYS"]

#: keys of the logged dict that have typed fields (everything else is metadata)
TASK_KEYS = frozenset(
    {
        "client_created_at", "project_id", "session_id", "task_id", "input", "raw_input",
        "raw_input_type_name", "output", "raw_output", "raw_output_type_name", "version_id",
        "user_id", "model", "system_prompt", "prompt_tokens", "completion_tokens",
        "total_tokens", "cached_tokens", "last_update", "created_at",
    }
)


def _cap(text: str | None, limit: int, errors: list[str], field: str) -> str | None:
    if text is not None and len(text) > limit:
        errors.append(f"{field}: truncated from {len(text)} to {limit} characters")
        return text[:limit]
    return text


def _opt_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _opt_int(value: Any, errors: list[str], field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    try:
        as_float = float(value)
        if as_float.is_integer() and abs(as_float) < 2**63:
            return int(as_float)
    except (TypeError, ValueError, OverflowError):
        pass
    errors.append(f"{field}: {value!r} is not an integer; stored as null")
    return None


def _json_or_none(value: Any, limit: int, errors: list[str], field: str) -> str | None:
    if value is None:
        return None
    return _cap(dumps(value, errors, field), limit, errors, field)


def _text_field(value: Any, limit: int, errors: list[str], field: str) -> str | None:
    if type(value) is not str:
        if value is None:
            return None
        value = str(value)
    if len(value) > limit:
        errors.append(f"{field}: truncated from {len(value)} to {limit} characters")
        return value[:limit]
    return value


def _raw_json(raw: Any, text: Any, limit: int, errors: list[str], field: str) -> str | None:
    """JSON text of a raw value; null when the raw value is the very string of the text field
    (a str input/output: nothing to add, and it halves the event)."""
    if raw is None or (type(raw) is str and raw == text):
        return None
    if type(raw) is str:
        encoded = _encode_str(raw)
        return encoded if len(encoded) <= limit else _cap(encoded, limit, errors, field)
    return _json_or_none(raw, limit, errors, field)


def task_record(event: Event, project_id: str, sent_ms: int, limit: int, sdk_version: str) -> dict[str, Any]:
    content = event.content
    errors = list(event.errors) if event.errors else []
    extras = None if content.keys() <= TASK_KEYS else {k: v for k, v in content.items() if k not in TASK_KEYS}
    text_in = content.get("input")
    text_out = content.get("output")
    get = content.get
    user_id, version_id, model = get("user_id"), get("version_id"), get("model")
    session_id = get("session_id")
    record = {
        "event_id": event.event_id or uuid4_hex(),
        "project_id": project_id,
        "task_id": event.id,
        "session_id": session_id if type(session_id) is str else str(session_id),
        "session_id_generated": event.session_generated,
        "user_id": user_id if user_id is None or type(user_id) is str else str(user_id),
        "version_id": version_id if version_id is None or type(version_id) is str else str(version_id),
        "created_at": event.event_ms if event.event_ms is not None else event.ts_ms,
        "client_created_at": event.ts_ms,
        "last_update": event.last_ms,
        "sent_at": sent_ms,
        "input": _text_field(text_in, limit, errors, "input") or "",
        "output": _text_field(text_out, limit, errors, "output"),
        "system_prompt": _text_field(get("system_prompt"), limit, errors, "system_prompt"),
        "model": _text_field(model, 1000, errors, "model"),
        "prompt_tokens": None,
        "completion_tokens": None,
        "total_tokens": None,
        "cached_tokens": None,
        "raw_input": _raw_json(get("raw_input"), text_in, limit, errors, "raw_input"),
        "raw_input_type_name": get("raw_input_type_name"),
        "raw_output": _raw_json(get("raw_output"), text_out, limit, errors, "raw_output"),
        "raw_output_type_name": get("raw_output_type_name"),
        "metadata": {},
        "metadata_json": "{}",
        "stream": event.stream,
        "errors": errors,
        "redactions": {},
        "sdk_version": sdk_version,
    }
    for key in ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens"):
        if key in content:
            record[key] = _opt_int(content[key], errors, key)
    if record["cached_tokens"] is None and record["prompt_tokens"] is not None:  # a completion's usage details
        found = cached_tokens(content)
        if found is not None:
            record["cached_tokens"] = _opt_int(found, errors, "cached_tokens")
    if extras:
        record["metadata"] = {k: _cap(v, limit, errors, f"metadata.{k}") for k, v in flatten(extras, errors).items()}
        record["metadata_json"] = _cap(dumps(extras, errors, "metadata"), limit, errors, "metadata_json") or "{}"
    for key in ("raw_input_type_name", "raw_output_type_name"):
        if record[key] is not None and type(record[key]) is not str:
            record[key] = str(record[key])
    return record


def feedback_record(event: Event, project_id: str, sent_ms: int, limit: int, sdk_version: str) -> dict[str, Any]:
    content = event.content
    errors = list(event.errors)
    return {
        "event_id": uuid4_hex(),
        "project_id": project_id,
        "task_id": str(content["task_id"]),
        "session_id": _opt_str(content.get("session_id")),
        "user_id": _opt_str(content.get("user_id")),
        "flag": _opt_str(content.get("flag")),
        "raw_flag": _cap(_opt_str(content.get("raw_flag")), limit, errors, "raw_flag"),
        "notes": _cap(_opt_str(content.get("notes")), limit, errors, "notes"),
        "source": _opt_str(content.get("source")) or "user",
        "created_at": event.ts_ms,
        "sent_at": sent_ms,
        "errors": errors,
        "redactions": {},
        "sdk_version": sdk_version,
    }
