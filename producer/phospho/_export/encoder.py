"""Queued events -> Messages (topic, key, value): records, Avro serialization, size budget,
partition keys (and those of recent tasks, so that feedback lands next to its task)."""

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
from .records import feedback_record, partition_key, task_record
from .span_records import span_record

__all__ = ["EventEncoder", "sanitize_surrogates"]

_SURROGATE = re.compile("[\ud800-\udfff]")

KEYS_REMEMBERED = 100_000
_SHRINKABLE = ("raw_output", "raw_input", "metadata_json", "output", "input", "system_prompt",
               "attributes_json", "output_text", "input_text")


class EventEncoder:
    def __init__(self, settings: Settings, serializers: dict[str, Callable[[dict[str, Any]], bytes]],
                 stats: Stats, sdk_version: str) -> None:
        self._settings = settings
        self._serializers = serializers
        self._stats = stats
        self._sdk_version = sdk_version
        topics = Topics(settings.topic_prefix)
        self._topic_of = {kind: topics.for_kind(kind) for kind in ("task", "span", "feedback")}
        self._keys: dict[str, tuple[str, str | None, str | None]] = {}
        self._keys_old: dict[str, tuple[str, str | None, str | None]] = {}

    def encode(self, event: Event) -> Message | None:
        """The message for `event`, or None when it cannot be sent (counted as failed)."""
        now_ms = int(time.time() * 1000)
        limit = self._settings.max_field_chars
        if event.kind == "task":
            record = task_record(event, self._settings.project_id, now_ms, limit, self._sdk_version)
            key = partition_key(record)
            self._remember(record, key)
        elif event.kind == "feedback":
            record = feedback_record(event, self._settings.project_id, now_ms, limit, self._sdk_version)
            known = self._known(record["task_id"])
            if known is not None:
                record["session_id"] = record["session_id"] or known[1]
                record["user_id"] = record["user_id"] or known[2]
        else:
            record = span_record(event.content, event.errors, self._settings.project_id, now_ms, limit,
                                 self._sdk_version)
        value = self._serialize(event.kind, record)
        if len(value) > self._settings.max_event_bytes:
            value = self._shrink(event.kind, record)
            if value is None:
                return None
        if event.kind == "span" and event.content["link"].key is not None:
            key = event.content["link"].key  # the task's key, computed where the span was linked
        elif event.kind != "task":
            known = self._known(record.get("task_id") or "")
            key = known[0] if known else (record.get("task_id") or record.get("trace_id") or record["event_id"])
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

    def _remember(self, record: dict[str, Any], key: str) -> None:
        """task_id -> (partition key, session, user) of recent tasks, for their feedback. Two
        generations of plain dicts: O(1) inserts and bulk eviction, no lock (the app's thread
        may add too, in send_from_app; at worst a racing entry is forgotten)."""
        young = self._keys
        young[record["task_id"]] = (key, record["session_id"], record["user_id"])
        if len(young) >= KEYS_REMEMBERED:
            self._keys_old, self._keys = young, {}

    def _known(self, task_id: str) -> tuple[str, str | None, str | None] | None:
        return self._keys.get(task_id) or self._keys_old.get(task_id)


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
