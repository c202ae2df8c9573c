"""Queued events -> Messages (topic, key, value): records, redaction (`init(redact=...)`), Avro
serialization, size budget, and the Kafka key: the task_id for a task, its spans and its
feedback (so they meet on one partition whatever process logged them); a span without a task:
its trace_id."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from phospho_schemas import Topics

from .._core.queue import Event
from .._core.settings import Settings
from .._core.stats import Stats
from .exporter import Message
from .records import feedback_record, task_record
from .span_records import span_record

__all__ = ["EventEncoder", "Redact", "sanitize_surrogates"]

_SURROGATE = re.compile("[\ud800-\udfff]")

_SHRINKABLE = ("raw_output", "raw_input", "metadata_json", "output", "input", "system_prompt",
               "attributes_json", "output_text", "input_text")


#: (event kind, record) -> redacts the record in place (phospho.redaction.EventRedactor.redact)
Redact = Callable[[str, dict[str, Any]], Any]


class EventEncoder:
    def __init__(self, settings: Settings, serializers: dict[str, Callable[[dict[str, Any]], bytes]],
                 stats: Stats, sdk_version: str, redact: Redact | None = None) -> None:
        self._settings = settings
        self._redact = redact
        self._serializers = serializers
        self._stats = stats
        self._sdk_version = sdk_version
        topics = Topics(settings.topic_prefix)
        self._topic_of = {kind: topics.for_kind(kind) for kind in ("task", "span", "feedback")}

    def encode(self, event: Event) -> Message | None:
        """The message for `event`, or None when it cannot be sent (counted as failed)."""
        now_ms = int(time.time() * 1000)
        limit = self._settings.max_field_chars
        if event.kind == "task":
            record = task_record(event, self._settings.project_id, now_ms, limit, self._sdk_version)
        elif event.kind == "feedback":
            record = feedback_record(event, self._settings.project_id, now_ms, limit, self._sdk_version)
        else:
            record = span_record(event.content, event.errors, self._settings.project_id, now_ms, limit,
                                 self._sdk_version)
        if self._redact is not None:  # before anything is encoded: the raw text never leaves the app
            self._redact(event.kind, record)
        value = self._serialize(event.kind, record)
        if len(value) > self._settings.max_event_bytes:
            value = self._shrink(event.kind, record)
            if value is None:
                return None
        key = record["task_id"] or record.get("trace_id") or record["event_id"]
        return Message(self._topic_of[event.kind], key.encode("utf-8", "surrogatepass"), value)

    def _serialize(self, kind: str, record: dict[str, Any]) -> bytes:
        try:
            return self._serializers[kind](record)
        except UnicodeEncodeError:
            sanitize_surrogates(record)
            return self._serializers[kind](record)

    def _shrink(self, kind: str, record: dict[str, Any]) -> bytes | None:
        """Cut the biggest free-text fields until the event fits in max_event_bytes."""
        budget = self._settings.max_event_bytes
        for _ in range(12):
            sizes = [(len(record[f]), f) for f in _SHRINKABLE if isinstance(record.get(f), str)]
            mapping = "metadata" if kind == "task" else "attributes"
            if kind != "feedback" and record.get(mapping):
                record[mapping] = {}
                record["errors"].append(f"{mapping} map dropped: event larger than max_event_bytes ({mapping}_json kept)")
            elif sizes:
                size, field = max(sizes)
                record[field] = record[field][: size // 2]
                record["errors"].append(f"{field}: cut to {size // 2} characters to fit max_event_bytes={budget}")
            value = self._serialize(kind, record)
            if len(value) <= budget:
                return value
        self._stats.count_failed(f"a {kind} event stays larger than max_event_bytes={budget}")
        return None


def sanitize_surrogates(record: dict[str, Any]) -> list[str]:
    """Replace lone surrogates (not encodable as UTF-8) with U+FFFD in every string of the
    record; returns the fields that changed."""
    changed: list[str] = []

    def clean(value: Any, field: str) -> Any:
        if isinstance(value, str):
            if _SURROGATE.search(value) is None:
                return value
            if field not in changed:
                changed.append(field)
            return _SURROGATE.sub("\ufffd", value)  # one U+FFFD per lone surrogate
        if isinstance(value, dict):
            return {clean(k, field): clean(v, field) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v, field) for v in value]
        return value

    for field, value in list(record.items()):
        record[field] = clean(value, field)
    if changed:
        record["errors"] = [*record["errors"], *(f"{f}: lone surrogates replaced with U+FFFD" for f in changed)]
    return changed
