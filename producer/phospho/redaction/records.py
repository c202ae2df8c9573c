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
from .walk import LONG_INT, MAX_DEPTH, Tally, redact_tree

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
        screen = redactor.screen
        #: False: no rule can find anything in this text (this JSON text); without a screen (a
        #: custom pattern), any text may hold something
        self._passes: Callable[[str], bool] = screen.passes if screen is not None else bool
        self._passes_json: Callable[[str], bool] = screen.passes_json if screen is not None else bool

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
        found = _Found()
        passes, passes_json = self._passes, self._passes_json
        for name in TEXT_FIELDS[kind]:
            text = record.get(name)
            if type(text) is str and passes(text):
                record[name] = self._field(text, found)
        for name in JSON_FIELDS[kind]:
            text = record.get(name)
            if type(text) is str and len(text) > 2 and passes_json(text):  # '{}', '[]', '""' hold nothing
                record[name] = self._json(text, found)
        for name in MAP_FIELDS[kind]:
            fields = record.get(name)
            if isinstance(fields, Mapping) and fields:
                record[name] = self._map(fields, found)
        for name in LIST_FIELDS[kind]:
            items = record.get(name)
            if isinstance(items, list) and items:
                record[name] = self._list(items, found)
        if found.errors:
            record["errors"] = [*(record.get("errors") or ()), *found.errors]
        if not found.counts:
            return bool(found.errors or found.changed)
        counts = dict(record.get("redactions") or {})
        for key, count in found.counts.items():
            counts[key] = counts.get(key, 0) + count
        record["redactions"] = counts
        return True

    def _leaf(self, text: str, found: _Found) -> str:
        """A string leaf: the text itself when nothing was found in it."""
        return self._found_in(text, found) if self._passes(text) else text

    def _found_in(self, text: str, found: _Found) -> str:
        """A text the screen let through, redacted (itself when nothing was found in it)."""
        result = self._cached(text) if len(text) <= _CACHED_CHARS else self.redactor.redact_text(text)
        if not result.counts and not result.dropped:
            return text
        counts = found.counts
        for key, count in result.counts.items():
            counts[key] = counts.get(key, 0) + count
        if result.dropped:
            found.dropped = True
        if result.errors:
            found.errors.extend(result.errors)
        found.changed = True
        return result.value

    def _field(self, text: str, found: _Found) -> str:
        """One text field the screen let through: '' when a drop rule fired in it."""
        found.dropped = False
        value = self._found_in(text, found)
        return "" if found.dropped else value

    def _tree(self, value: Any, found: _Found) -> Any:
        """A JSON-like value as one field: emptied when a drop rule fired anywhere in it."""
        found.dropped = False
        out = self._walk(value, found, 0)
        if found.dropped:
            return {} if isinstance(value, Mapping) else [] if isinstance(value, list | tuple) else ""
        return out

    def _walk(self, value: Any, found: _Found, depth: int) -> Any:
        """`value` with its string leaves redacted; containers copied only when changed. JSON's
        own types are walked here; anything else (tuples, mappings) as phospho.redaction does."""
        kind = type(value)
        if kind is str:
            return self._leaf(value, found)
        if kind is dict or kind is list:
            if depth >= MAX_DEPTH:
                found.dropped = True
                found.errors.append(f"a value nested deeper than {MAX_DEPTH} levels: the field was dropped")
                return value
            out: Any = None
            for key, item in (value.items() if kind is dict else enumerate(value)):
                new = self._walk(item, found, depth + 1)
                if new is not item:
                    if out is None:
                        out = kind(value)
                    out[key] = new
            return value if out is None else out
        if kind is int:
            if -LONG_INT < value < LONG_INT:
                return value
            digits = str(value)
            new = self._leaf(digits, found)
            return value if new is digits else new
        if kind in (float, bool) or value is None:
            return value
        tally = Tally()
        out = redact_tree(value, lambda text: self._leaf(text, found), tally, depth)
        found.errors.extend(tally.errors)
        found.dropped = found.dropped or tally.dropped
        return out

    def _json(self, text: str, found: _Found) -> str:
        try:
            value = json.loads(text)
        except ValueError:  # cut to max_field_chars, or not JSON: searched as text
            return self._field(text, found)
        out = self._tree(value, found)
        return text if out is value else _dumps(out)

    def _map(self, fields: Mapping[str, Any], found: _Found) -> Any:
        out: dict[str, Any] | None = None
        passes = self._passes
        for key, value in fields.items():
            if type(value) is not str:
                new = self._tree(value, found)
            elif passes(value):
                new = self._field(value, found)
            else:
                continue
            if new is not value:
                if out is None:
                    out = dict(fields)
                out[key] = new
        return fields if out is None else out

    def _list(self, items: list[Any], found: _Found) -> list[Any]:
        passes = self._passes
        out = [self._field(item, found) if type(item) is str and passes(item) else item for item in items]
        return [item for item, old in zip(out, items, strict=True) if item != "" or old == ""]


class _Found:
    """What the redaction of one record found: counts per rule key, errors, and whether the
    field being redacted is dropped."""

    __slots__ = ("counts", "errors", "dropped", "changed")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []
        self.dropped = False
        self.changed = False


def _empty_fields(kind: str, record: dict[str, Any]) -> None:
    for name in TEXT_FIELDS[kind]:
        if record.get(name) is not None:
            record[name] = ""
    for name in JSON_FIELDS[kind]:
        if record.get(name) is not None:
            record[name] = "{}" if name in ("metadata_json", "attributes_json") else None
    for name in MAP_FIELDS[kind]:
        record[name] = {}
