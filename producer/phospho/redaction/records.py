"""Redacting the wire contract's events: which fields of a task, span or feedback record hold
free text, and the counts they carry (`redactions`), summed with what redacted them before.

The SDK runs it on the records it is about to encode, the core stage on the records it decoded:
the same fields, the same counts, wherever it runs.

    events = EventRedactor(Redactor(default_rules()))
    changed = events.redact("task", record)    # record changed in place; record["redactions"] summed
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from .redactor import Redaction, Redactor
from .walk import Tally, redact_tree

__all__ = ["EventRedactor", "TEXT_FIELDS", "JSON_FIELDS", "MAP_FIELDS", "LIST_FIELDS"]

#: plain text fields, per event kind
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "task": ("input", "output", "system_prompt"),
    "span": ("input_text", "output_text", "status_message"),
    "feedback": ("notes", "raw_flag"),
}
#: fields holding JSON text: parsed, each string leaf redacted, written back (keys left alone)
JSON_FIELDS: dict[str, tuple[str, ...]] = {
    "task": ("raw_input", "raw_output", "metadata_json"),
    "span": ("attributes_json",),
    "feedback": (),
}
#: string maps whose every value is its own field (a drop rule empties only that value)
MAP_FIELDS: dict[str, tuple[str, ...]] = {"task": ("metadata",), "span": ("attributes",), "feedback": ()}
#: lists of strings whose every item is its own field (a dropped item is removed)
LIST_FIELDS: dict[str, tuple[str, ...]] = {"task": ("errors",), "span": ("errors",), "feedback": ("errors",)}

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: texts longer than this are redacted every time, not remembered
_CACHED_CHARS = 4096


class EventRedactor:
    """A Redactor applied to event records. Texts met again (a system prompt in every task, the
    input repeated in the raw input's messages, metadata values) are redacted once: the last
    `cache_size` results of texts up to 4,096 characters are kept. Thread-safe."""

    def __init__(self, redactor: Redactor, cache_size: int = 4096) -> None:
        self.redactor = redactor
        self._cached: Callable[[str], Redaction[str]] = lru_cache(maxsize=cache_size)(redactor.redact_text)

    def redact(self, kind: str, record: dict[str, Any]) -> bool:
        """Redact `record` (an event of `kind`: task, span or feedback) in place: its free-text
        fields, its counts added to `record["redactions"]`, and a line in `record["errors"]` per
        search that failed (its field was dropped). True when anything was replaced or dropped.
        Never raises: should redaction itself fail, every free-text field is emptied (nothing
        unchecked is kept) and an error says so."""
        try:
            return self._redact(kind, record)
        except Exception as exc:  # noqa: BLE001 - the message may quote the text: left out
            _empty_fields(kind, record)
            record["errors"] = [f"redaction failed ({type(exc).__name__}): every free-text field (and the "
                                "earlier errors) was dropped"]
            return True

    def _redact(self, kind: str, record: dict[str, Any]) -> bool:
        tally = Tally()
        for name in TEXT_FIELDS[kind]:
            text = record.get(name)
            if isinstance(text, str) and text:
                record[name] = self._text(text, tally)
        for name in JSON_FIELDS[kind]:
            text = record.get(name)
            if isinstance(text, str) and text:
                record[name] = self._json(text, tally)
        for name in MAP_FIELDS[kind]:
            fields = record.get(name)
            if isinstance(fields, Mapping) and fields:
                record[name] = self._map(fields, tally)
        for name in LIST_FIELDS[kind]:
            items = record.get(name)
            if isinstance(items, list) and items:
                record[name] = self._list(items, tally)
        if tally.errors:
            record["errors"] = [*(record.get("errors") or ()), *tally.errors]
        if not tally.counts:
            return bool(tally.errors or tally.dropped)
        counts = dict(record.get("redactions") or {})
        for key, count in tally.counts.items():
            counts[key] = counts.get(key, 0) + count
        record["redactions"] = counts
        return True

    def _leaf(self, text: str, tally: Tally) -> str:
        result = self._cached(text) if len(text) <= _CACHED_CHARS else self.redactor.redact_text(text)
        if result.counts:
            for key, count in result.counts.items():
                tally.counts[key] = tally.counts.get(key, 0) + count
        if result.dropped:
            tally.dropped = True
        if result.errors:
            tally.errors.extend(result.errors)
        return result.value

    def _text(self, text: str, tally: Tally) -> str:
        """One field: '' when a drop rule fired in it."""
        field = Tally()
        value = self._leaf(text, field)
        tally.merge(field)
        return "" if field.dropped else value

    def _tree(self, value: Any, tally: Tally) -> Any:
        """A JSON-like value as one field: emptied when a drop rule fired anywhere in it."""
        field = Tally()
        out = redact_tree(value, lambda text: self._leaf(text, field), field)
        tally.merge(field)
        if field.dropped:
            return {} if isinstance(value, Mapping) else [] if isinstance(value, list) else ""
        return out

    def _json(self, text: str, tally: Tally) -> str:
        try:
            value = json.loads(text)
        except ValueError:  # cut to max_field_chars, or not JSON: searched as text
            return self._text(text, tally)
        out = self._tree(value, tally)
        return text if out is value else _dumps(out)

    def _map(self, fields: Mapping[str, Any], tally: Tally) -> dict[str, Any]:
        return {key: self._text(value, tally) if isinstance(value, str) else self._tree(value, tally)
                for key, value in fields.items()}

    def _list(self, items: list[Any], tally: Tally) -> list[Any]:
        out = [self._text(item, tally) if isinstance(item, str) else item for item in items]
        return [item for item, old in zip(out, items, strict=True) if item != "" or old == ""]


def _empty_fields(kind: str, record: dict[str, Any]) -> None:
    for name in TEXT_FIELDS[kind]:
        if record.get(name) is not None:
            record[name] = ""
    for name in JSON_FIELDS[kind]:
        if record.get(name) is not None:
            record[name] = "{}" if name in ("metadata_json", "attributes_json") else None
    for name in MAP_FIELDS[kind]:
        record[name] = {}
