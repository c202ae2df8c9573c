"""The core stage's join half, for one partition of the event topics: decoded tasks, spans and
feedback in; rows, points for the sessions and records for the analysis stages out; one state
record per task whose facts changed."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import orjson

from ..rules.joins import JoinOut, TaskFacts, expire, on_feedback, on_span, on_task
from .clock import VersionClock
from .codec import dump_facts, facts_key, load_facts

__all__ = ["JoinsPart", "span_row", "feedback_row"]

_SPAN_DROP = frozenset({"start_time", "end_time", "sent_at", "sdk_version"})
_FEEDBACK_DROP = frozenset({"created_at", "sent_at", "sdk_version"})


def span_row(record: dict[str, Any]) -> dict[str, Any]:
    """A span's storage row (phospho_schemas.rows.SpanRow)."""
    row = {k: v for k, v in record.items() if k not in _SPAN_DROP}
    row["start_time_ms"], row["end_time_ms"] = record["start_time"], record["end_time"]
    row["attributes"] = orjson.dumps(record.get("attributes") or {}).decode()
    row["errors"] = orjson.dumps(record.get("errors") or []).decode()
    row["redactions"] = orjson.dumps(record.get("redactions") or {}).decode()
    return row


def feedback_row(record: dict[str, Any]) -> dict[str, Any]:
    """A feedback's storage row (phospho_schemas.rows.FeedbackRow), before its task's session."""
    row = {k: v for k, v in record.items() if k not in _FEEDBACK_DROP}
    row["created_at_ms"] = record["created_at"]
    row["errors"] = orjson.dumps(record.get("errors") or []).decode()
    row["redactions"] = orjson.dumps(record.get("redactions") or {}).decode()
    return row


class JoinsPart:
    def __init__(self, partition: int, clock: VersionClock) -> None:
        self.partition, self.clock = partition, clock
        self.facts: dict[str, TaskFacts] = {}
        self.dirty: set[str] = set()
        self.removed: set[str] = set()

    def load(self, records: dict[bytes, bytes]) -> int:
        for key, blob in records.items():
            if key.startswith(b"t\x00"):
                facts = load_facts(blob)
                self.facts[facts.task_id] = facts
        return len(self.facts)

    def _facts(self, task_id: str, now_ms: int) -> TaskFacts:
        facts = self.facts.get(task_id)
        if facts is None:
            facts = self.facts[task_id] = TaskFacts(task_id, now_ms)
        self.dirty.add(task_id)
        return facts

    def apply(self, kind: str, record: dict[str, Any], value: bytes, offset: int, now_ms: int) -> JoinOut:
        """One decoded event (`value`: its bytes, at `offset` of this partition)."""
        if kind == "task":
            return on_task(self._facts(record["task_id"], now_ms), record)
        if kind == "span":
            row = span_row(record)
            if not record.get("task_id"):
                return JoinOut(spans=[row])
            return on_span(self._facts(record["task_id"], now_ms), record, row)
        source = [offset, base64.b64encode(value).decode("ascii")]
        return on_feedback(self._facts(record["task_id"], now_ms), record, feedback_row(record), source)

    def expire(self, now_ms: int, horizon_ms: int, retention_ms: int,
               dead_letter: Callable[[str, str, int, bytes], None]) -> int:
        """Feedback whose task never came within the horizon goes to `dead_letter(reason, event_id,
        input offset, event bytes)`; the facts of tasks older than the retention are forgotten
        (their rows are final). Returns how many tasks were forgotten."""
        forgotten = []
        for task_id, facts in self.facts.items():
            if facts.event_id is None:
                waited = expire(facts, now_ms, horizon_ms)
                if waited is None:
                    continue
                for event_id, (offset, raw) in waited:
                    dead_letter(f"feedback {event_id}: its task {task_id} did not arrive within "
                                f"{horizon_ms / 86_400_000:g} days", event_id, offset, base64.b64decode(raw))
                forgotten.append(task_id)
            elif now_ms - facts.first_seen_ms > retention_ms:
                forgotten.append(task_id)
        for task_id in forgotten:
            del self.facts[task_id]
            self.dirty.discard(task_id)
            self.removed.add(task_id)
        return len(forgotten)

    def records(self) -> list[tuple[bytes, bytes]]:
        out = [(facts_key(t), b"") for t in self.removed]
        out += [(facts_key(t), dump_facts(self.facts[t])) for t in self.dirty if t in self.facts]
        self.dirty.clear()
        self.removed.clear()
        return out
