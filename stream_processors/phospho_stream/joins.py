"""Joining spans and feedback to their tasks, as plain functions (no faust).

Spans and feedback may arrive before or after their task. A `TaskJoin` per task_id holds what
arrived; each call returns the rows to write:
- a task row enriched with its spans (count, models, summed tokens, LLM latency summed over
  LLM calls, and their wall-clock span) and its latest feedback (written again when feedback
  comes, so that analysts' views need no join);
- span rows carrying the task's session and user, once the task is known;
- feedback rows carrying the task's session and user, once the task is known.
Spans and feedback still without a task after the grace period are written anyway, marked as
orphans; if the task shows up later, they are written again, linked, with a higher version.
Every row carries the join's version, which grows with each change of the join (written or not),
so storage keeps the newest (ReplacingMergeTree(version)). Re-delivered events change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["DEFAULT_GRACE_MS", "TaskJoin", "Rows", "on_task", "on_span", "on_feedback", "expire", "span_summary", "to_ms",
           "task_row", "latest_feedback", "CompactTask", "full_task", "TASK_HOT_FIELDS", "join_rows"]

DEFAULT_GRACE_MS = 5 * 60 * 1000


@dataclass
class Rows:
    tasks: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.tasks or self.spans or self.feedback)


#: what the rules read of a task once its batch is done (`CompactTask`)
TASK_HOT_FIELDS = ("task_id", "event_id", "sent_at", "session_id", "session_id_generated", "user_id", "total_tokens")


class CompactTask(dict):  # type: ignore[type-arg]
    """A task record once its batch is done: only the fields the rules read (TASK_HOT_FIELDS)
    and its wire bytes under `raw_key`. `full()` decodes the whole record again, for the rare
    row written later (a late span or feedback, a window that changed id). A decoded record
    costs ~1.8 KB of memory, this ~0.4 KB, and a worker keeps a day of tasks."""

    __slots__ = ("_expand",)

    def __init__(self, record: dict[str, Any], raw_key: str, expand: Any) -> None:
        super().__init__({k: record[k] for k in TASK_HOT_FIELDS if k in record})
        self[raw_key] = record[raw_key]
        self._expand = expand

    def full(self) -> dict[str, Any]:
        return self._expand(self)


def full_task(task: dict[str, Any]) -> dict[str, Any]:
    return task.full() if type(task) is CompactTask else task


@dataclass
class TaskJoin:
    task_id: str
    first_seen_ms: int
    task: dict[str, Any] | None = None
    spans: dict[str, dict[str, Any]] = field(default_factory=dict)  # by span event_id
    feedback: dict[str, dict[str, Any]] = field(default_factory=dict)  # by feedback event_id
    orphans_written: bool = False
    version: int = 0


def to_ms(value: Any) -> int | None:
    """Milliseconds since the epoch, from a decoded timestamp (datetime) or an int."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(round(value.timestamp() * 1000))
    return int(value)


def _duration_us(span: dict[str, Any]) -> int:
    """A span's duration in us: the SDK's exact figure when it has one, else from its ms bounds."""
    if span.get("duration_us") is not None:
        return max(0, span["duration_us"])
    return 1000 * max(0, to_ms(span["end_time"]) - to_ms(span["start_time"]))


def span_summary(spans: list[dict[str, Any]]) -> dict[str, Any]:
    """What a task row says of its spans. LLM calls are the spans with a GenAI operation or
    provider; their latency is summed, and their wall-clock extent measured."""
    if not spans:
        return {**_NO_SPANS, "span_models": []}
    llm = [s for s in spans if s.get("operation") or s.get("provider")]
    models = sorted({m for s in spans for m in (s.get("response_model") or s.get("request_model"),) if m})
    return {
        "span_count": len(spans),
        "llm_call_count": len(llm),
        "span_models": models,
        "span_input_tokens": sum(s.get("input_tokens") or 0 for s in spans),
        "span_output_tokens": sum(s.get("output_tokens") or 0 for s in spans),
        "llm_latency_ms": round(sum(_duration_us(s) for s in llm) / 1000),
        "llm_wall_ms": (max(to_ms(s["end_time"]) for s in llm) - min(to_ms(s["start_time"]) for s in llm)) if llm else 0,
    }


_NO_SPANS = {"span_count": 0, "llm_call_count": 0, "span_models": [], "span_input_tokens": 0, "span_output_tokens": 0,
             "llm_latency_ms": 0, "llm_wall_ms": 0}


def _link(row: dict[str, Any], task: dict[str, Any] | None, version: int, orphan: bool) -> dict[str, Any]:
    linked = dict(row)
    if task is not None:
        linked["session_id"] = task["session_id"]
        linked["user_id"] = task.get("user_id")
    linked["orphan"] = orphan
    linked["version"] = version
    return linked


def latest_feedback(join: TaskJoin) -> tuple[str | None, str | None]:
    """The task's latest flag and latest notes (by the feedback's created_at, then event id):
    a user who changes their mind counts once, with their last word."""
    if not join.feedback:
        return None, None
    ordered = sorted(join.feedback.values(), key=lambda f: (to_ms(f.get("created_at")) or 0, f["event_id"]))
    flag = next((f["flag"] for f in reversed(ordered) if f.get("flag")), None)
    notes = next((f["notes"] for f in reversed(ordered) if f.get("notes")), None)
    return flag, notes


def task_row(join: TaskJoin) -> dict[str, Any]:
    """The task's row: its newest event, its spans' summary, its latest feedback."""
    assert join.task is not None
    flag, notes = latest_feedback(join)
    return {**full_task(join.task), **span_summary(list(join.spans.values())), "feedback_flag": flag, "feedback_notes": notes,
            "version": join.version}


def on_task(join: TaskJoin, task: dict[str, Any]) -> Rows:
    """The task arrived (or a newer event of it): write it enriched, and link what waited."""
    if join.task is not None and join.task.get("event_id") == task.get("event_id"):
        return Rows()  # re-delivery
    if join.task is not None and task.get("sent_at", 0) < join.task.get("sent_at", 0):
        return Rows()  # an older event of the task: the newer one stays
    first_link = join.task is None
    join.task = task
    join.version += 1
    if first_link or join.orphans_written:  # what waited (or was written as orphans) is linked now
        return join_rows(join)
    return Rows(tasks=[task_row(join)])


def on_span(join: TaskJoin, span: dict[str, Any]) -> Rows:
    if span["event_id"] in join.spans:
        return Rows()
    join.spans[span["event_id"]] = span
    join.version += 1
    if join.task is None:
        if join.orphans_written:  # late for its task's grace: written at once, as an orphan
            return Rows(spans=[_link(span, None, join.version, True)])
        return Rows()
    return Rows(tasks=[task_row(join)], spans=[_link(span, join.task, join.version, False)])


def on_feedback(join: TaskJoin, feedback: dict[str, Any]) -> Rows:
    if feedback["event_id"] in join.feedback:
        return Rows()
    join.feedback[feedback["event_id"]] = feedback
    join.version += 1
    if join.task is None and not join.orphans_written:
        return Rows()
    rows = Rows(feedback=[_link(feedback, join.task, join.version, join.task is None)])
    if join.task is not None:  # the task row carries its latest feedback
        rows.tasks = [task_row(join)]
    return rows


def expire(join: TaskJoin, now_ms: int, grace_ms: int = DEFAULT_GRACE_MS) -> Rows:
    """Past the grace period without a task: write what waited, marked as orphans."""
    if join.task is not None or join.orphans_written or now_ms - join.first_seen_ms < grace_ms:
        return Rows()
    join.orphans_written = True
    join.version += 1
    return join_rows(join)


def join_rows(join: TaskJoin) -> Rows:
    """Every row the join stands for now, at its current version: what a worker sends again
    when a crash may have kept its last rows from going out. Spans and feedback still waiting
    within their grace period have no row yet."""
    if join.task is not None:
        return Rows(tasks=[task_row(join)], spans=[_link(s, join.task, join.version, False) for s in join.spans.values()],
                    feedback=[_link(f, join.task, join.version, False) for f in join.feedback.values()])
    if join.orphans_written:
        return Rows(spans=[_link(s, None, join.version, True) for s in join.spans.values()],
                    feedback=[_link(f, None, join.version, True) for f in join.feedback.values()])
    return Rows()
