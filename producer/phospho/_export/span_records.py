"""Span events -> Avro records of the wire contract (SpanEvent), in the sender thread.

Two sources: a finished OpenTelemetry span with its link (`phospho._tracing.links`), and one manual step of
`log(steps=[...])`. Both carry the GenAI typed fields (`genai`), every attribute flattened with
dotted keys (lists and other non-strings as JSON text) and the attributes as JSON.
"""

from __future__ import annotations

from typing import Any

from .._core.convert import event_time_ms
from .._core.extract import (
    cached_tokens,
    detect_usage,
    input_to_text,
    is_message_list,
    output_to_text,
)
from .._core.ids import uuid4_hex
from .._core.queue import Link
from .genai import genai_fields, to_int
from .jsonsafe import dumps

__all__ = ["span_record", "flatten_attributes", "STEP_KEYS"]

#: keys of a step with a field of their own; every other key is an attribute
STEP_KEYS = frozenset({"name", "input", "output", "start_time", "end_time", "duration", "duration_ms"})


def _dotted(attrs: dict[str, Any]) -> dict[str, Any]:
    """Nested dicts flattened with dotted keys; every other value as it is."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any, depth: int) -> None:
        if isinstance(value, dict) and value and depth < 16:
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item, depth + 1)
        else:
            out[prefix] = value

    for key, value in attrs.items():
        walk(str(key), value, 0)
    return out


def flatten_attributes(attrs: dict[str, Any], errors: list[str], limit: int) -> dict[str, str]:
    """The attributes map: dotted keys, strings as they are, every other value as JSON text."""
    out: dict[str, str] = {}
    for key, value in _dotted(attrs).items():
        text = value if isinstance(value, str) else dumps(list(value) if isinstance(value, tuple) else value,
                                                          errors, f"attributes.{key}")
        if len(text) > limit:
            errors.append(f"attributes.{key}: truncated from {len(text)} to {limit} characters")
            text = text[:limit]
        out[key] = text
    return out


def _text(value: Any, limit: int, errors: list[str], field: str) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else dumps(value, errors, field)
    if len(text) > limit:
        errors.append(f"{field}: truncated from {len(text)} to {limit} characters")
        return text[:limit]
    return text


def _base(link: Link, project_id: str, sent_ms: int, sdk_version: str, errors: list[str],
          event_id: str | None) -> dict[str, Any]:
    return {
        "event_id": event_id or uuid4_hex(), "project_id": project_id, "parent_span_id": None, "kind": None,
        "task_id": link.task_id, "session_id": _opt_str(link.session_id), "user_id": _opt_str(link.user_id),
        "link_method": link.method, "step_index": None, "duration_us": None, "status_code": "UNSET",
        "status_message": None, "sent_at": sent_ms, "errors": errors, "redactions": {}, "sdk_version": sdk_version,
    }


def _opt_str(value: Any) -> str | None:
    return value if value is None or type(value) is str else str(value)


def _typed(record: dict[str, Any], attrs: dict[str, Any], limit: int, errors: list[str]) -> None:
    fields = genai_fields(_dotted(attrs))
    for name in ("input_text", "output_text"):
        fields[name] = _text(fields[name], limit, errors, name)
    for name in ("provider", "request_model", "response_model", "operation"):
        fields[name] = _text(fields[name], 1000, errors, name)
    record.update(fields)
    record["attributes"] = flatten_attributes(attrs, errors, limit)
    json_attrs = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.items()}
    record["attributes_json"] = _text(json_attrs, limit, errors, "attributes_json") or "{}"


def _otel_record(span: Any, link: Link, record: dict[str, Any], limit: int) -> dict[str, Any]:
    errors = record["errors"]
    ctx = span.context
    record["trace_id"] = f"{ctx.trace_id:032x}"
    record["span_id"] = f"{ctx.span_id:016x}"
    if span.parent is not None:
        record["parent_span_id"] = f"{span.parent.span_id:016x}"
    record["name"] = span.name
    record["kind"] = span.kind.name
    start, end = span.start_time or 0, span.end_time or span.start_time or 0
    record["start_time"], record["end_time"] = start // 1_000_000, end // 1_000_000
    record["duration_us"] = max(0, end - start) // 1000
    status = span.status
    record["status_code"] = status.status_code.name
    message = status.description
    if message is None and status.status_code.name == "ERROR":
        for event in span.events:
            if event.name == "exception":
                attrs = event.attributes or {}
                message = f"{attrs.get('exception.type', 'Exception')}: {attrs.get('exception.message', '')}"
                break
    record["status_message"] = _text(message, limit, errors, "status_message")
    _typed(record, dict(span.attributes or {}), limit, errors)
    return record


def _step_time(step: dict[str, Any], name: str, errors: list[str]) -> int | None:
    if step.get(name) is None:
        return None
    problems: list[str] = []
    at = event_time_ms(step[name], problems)
    if problems:
        errors.append(f"{name}: {step[name]!r} is not a time (unix seconds, a datetime or an ISO date); ignored")
    return at


def _step_record(payload: dict[str, Any], link: Link, record: dict[str, Any], limit: int) -> dict[str, Any]:
    errors = record["errors"]
    step, index = payload["step"], payload["index"]
    if not isinstance(step, dict):
        step = {"output": step}
    record["trace_id"] = format(payload["trace_id"], "032x")
    record["span_id"] = format(payload["span_id"], "016x")
    record["name"] = _text(step.get("name"), 1000, errors, "name") or f"step {index}"
    record["kind"] = "INTERNAL"
    record["step_index"] = index
    start, end = _step_time(step, "start_time", errors), _step_time(step, "end_time", errors)
    duration_ms = None
    for key, scale in (("duration_ms", 1.0), ("duration", 1000.0)):
        value = step.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            duration_ms = value * scale
            break
    if start is None and end is not None and duration_ms is not None:
        start = end - int(duration_ms)
    start = payload["logged_ms"] if start is None else start
    end = start + int(duration_ms) if end is None and duration_ms is not None else (start if end is None else end)
    record["start_time"], record["end_time"] = start, max(start, end)
    if duration_ms is not None:
        record["duration_us"] = int(duration_ms * 1000)
    elif step.get("start_time") is not None and step.get("end_time") is not None:
        record["duration_us"] = (record["end_time"] - start) * 1000
    if step.get("error"):
        record["status_code"] = "ERROR"
        record["status_message"] = _text(step["error"], limit, errors, "status_message")
    _typed(record, {k: v for k, v in step.items() if k not in STEP_KEYS}, limit, errors)
    for key, extract in (("input", input_to_text), ("output", output_to_text)):
        if key in step:
            record[f"{key}_text"] = _text(_step_text(step[key], extract), limit, errors, f"{key}_text")
    output = step.get("output")
    if isinstance(output, dict):  # e.g. an OpenAI completion: its model and usage, unless given
        usage = detect_usage(output) or {}
        for field, value in (("response_model", output.get("model")), ("input_tokens", usage.get("prompt_tokens")),
                             ("output_tokens", usage.get("completion_tokens")),
                             ("cached_input_tokens", cached_tokens(usage))):
            if record[field] is None and value is not None:
                record[field] = str(value)[:1000] if field == "response_model" else to_int(value)
    return record


def _step_text(value: Any, extract: Any) -> Any:
    """phospho's text rules for the shapes they know (an OpenAI completion, messages, an Ollama
    answer), so a step reads like a task; other values stay (then JSON text)."""
    if isinstance(value, dict) and ("choices" in value or "messages" in value or "response" in value):
        return extract(value)
    if is_message_list(value):
        return extract(value)
    return value


def span_record(payload: dict[str, Any], errors: list[str], project_id: str, sent_ms: int, limit: int,
                sdk_version: str) -> dict[str, Any]:
    link: Link = payload["link"]
    record = _base(link, project_id, sent_ms, sdk_version, list(errors), payload.get("event_id"))
    if "span" in payload:
        return _otel_record(payload["span"], link, record, limit)
    return _step_record(payload, link, record, limit)
