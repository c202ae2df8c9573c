"""The stream worker's logic without faust: decoded events in, storage rows out.

State is kept per Kafka message key: the SDK keys a task, its spans and its feedback alike
(the sessionization key), so they meet on one partition and in one `KeyState`. A KeyState
holds the session windows of each session key it has seen, and a `TaskJoin` per task. The
faust layer loads the KeyStates a batch touches, calls `process`, saves them back once per
key, and sends the rows (one message per table per batch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .joins import (
    DEFAULT_GRACE_MS,
    CompactTask,
    Rows,
    TaskJoin,
    expire,
    join_rows,
    latest_feedback,
    on_feedback,
    on_span,
    on_task,
    task_row,
    to_ms,
)
from .sessions import (
    DEFAULT_GAP_MS,
    KeyWindows,
    TaskPoint,
    add_task,
    session_key,
    update_task,
    window_row,
)

__all__ = ["KeyState", "Output", "process", "expire_state", "evict", "to_ms", "DEFAULT_RETENTION_MS", "RAW", "task_expander",
           "compact", "current_rows"]

#: a decoded record may carry its wire bytes under this key (the worker sets it, so that the
#: state changelog stores those bytes instead of pickling the record); rows never include it
RAW = "_raw"

#: session windows that ended this long (event time) before the key's newest task leave the state
DEFAULT_RETENTION_MS = 24 * 3600 * 1000


@dataclass
class KeyState:
    windows: dict[str, KeyWindows] = field(default_factory=dict)  # by session key
    joins: dict[str, TaskJoin] = field(default_factory=dict)  # by task_id
    window_of_task: dict[str, str] = field(default_factory=dict)  # task_id -> window_id last written
    max_event_ms: int = 0
    # (session key, window id, version) of the windows the key's last batch removed: their
    # tombstones go out again with `current_rows`
    tombstones: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass
class Output:
    tasks: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: Output) -> None:
        self.tasks += other.tasks
        self.spans += other.spans
        self.feedback += other.feedback
        self.sessions += other.sessions

    def newest(self) -> Output:
        """The same rows, one per stored id: a task's or a window's row with the highest version,
        which is all storage keeps of them (ReplacingMergeTree(version); the last made wins a
        tie, as the last inserted does there). A batch writes a window once per task it got."""
        return Output(_newest(self.tasks, "task_id"), self.spans, self.feedback, _newest(self.sessions, "window_id"))

    def extend(self, rows: Rows, state: KeyState) -> None:
        self.tasks += [_task_row(r, state) for r in rows.tasks]
        self.spans += [_span_row(r) for r in rows.spans]
        self.feedback += [_feedback_row(r) for r in rows.feedback]


def _newest(rows: list[dict[str, Any]], id_field: str) -> list[dict[str, Any]]:
    kept: dict[Any, dict[str, Any]] = {}
    for row in rows:
        other = kept.get(row[id_field])
        if other is None or row["version"] >= other["version"]:
            kept[row[id_field]] = row
    return rows if len(kept) == len(rows) else list(kept.values())


_TASK_MS = {"created_at": "created_at_ms", "client_created_at": "client_created_at_ms",
            "last_update": "last_update_ms", "sent_at": "sent_at_ms"}


def _task_row(row: dict[str, Any], state: KeyState) -> dict[str, Any]:
    """`row` (a fresh dict from joins.task_row) made a storage row, in place."""
    for name, column in _TASK_MS.items():
        value = row.pop(name, None)
        row[column] = value if value is None or type(value) is int else to_ms(value)  # the worker decodes ms as ints
    row.pop(RAW, None)
    task_id = row["task_id"]
    skey = session_key(row["session_id"], row["session_id_generated"], row["user_id"], task_id)
    row["session_key"] = skey
    window_id = state.window_of_task.get(task_id)
    row["window_id"] = f"{skey}|{task_id}" if window_id is None else window_id
    return row


def _span_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("start_time", "end_time", "sent_at", "sdk_version", RAW)}
    out["start_time_ms"], out["end_time_ms"] = to_ms(row["start_time"]), to_ms(row["end_time"])
    return out


def _feedback_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("created_at", "sent_at", "sdk_version", RAW)}
    out["created_at_ms"] = to_ms(row["created_at"])
    return out


def _window_rows(windows: KeyWindows, upserts: list, removed: list[str], state: KeyState, out: Output,
                 added: str | None = None) -> list[str]:
    """Session rows, tombstones, and the tasks whose window id changed (to write again).

    Every task of a window written here is recorded under its id (`window_of_task`). So when
    no window went away and the window's first task is recorded under the window's id, its
    tasks are too, except perhaps the task just `added`: only that one is looked at."""
    moved = []
    window_of_task = state.window_of_task
    for window in upserts:
        row = window_row(windows, window)
        row["is_deleted"] = 0
        out.sessions.append(row)
        window_id = row["window_id"]
        if not removed and window_of_task.get(window.first.task_id) == window_id:
            candidates: Any = (added,) if added is not None and added in window.tasks else ()
        else:
            candidates = window.tasks
        for task_id in candidates:
            if window_of_task.get(task_id) != window_id:
                window_of_task[task_id] = window_id
                moved.append(task_id)
    for window_id in removed:
        state.tombstones.append((windows.key, window_id, windows.version))
        out.sessions.append(_tombstone_row(windows.key, window_id, windows.version))
    return moved


def _tombstone_row(key: str, window_id: str, version: int) -> dict[str, Any]:
    return {"window_id": window_id, "session_key": key, "session_id": "", "user_id": None, "start_ms": 0, "end_ms": 0,
            "duration_ms": 0, "task_count": 0, "first_input": "", "last_input": "", "total_tokens": 0, "success_count": 0,
            "failure_count": 0, "tasks_with_errors": 0, "version": version, "is_deleted": 1}


def current_rows(state: KeyState) -> Output:
    """Every row a key's state stands for, at its current versions: its windows, the
    tombstones of its last batch, its joins' rows (`joins.join_rows`). A worker sends these
    again for the keys of its last state write when it recovers a partition: a crash between
    that write and the rows it made would otherwise lose those rows, since the events, delivered
    again, change nothing. Storage keeps one row per id and version, so sending them twice is
    harmless."""
    out = Output()
    for windows in state.windows.values():
        for window in windows.windows:
            row = window_row(windows, window)
            row["is_deleted"] = 0
            out.sessions.append(row)
    out.sessions += [_tombstone_row(*tombstone) for tombstone in state.tombstones]
    for join in state.joins.values():
        out.extend(join_rows(join), state)
    return out


def evict(state: KeyState, now_ms: int, retention_ms: int = DEFAULT_RETENTION_MS) -> int:
    """Forget closed history, so that a key's state stays bounded: windows that ended more than
    `retention_ms` (event time) before the key's newest task, with their tasks' joins, and
    orphans written more than `retention_ms` (wall time) ago. Their rows are final in storage.
    A task arriving later than that for a forgotten window opens a new window. Returns how many
    tasks were forgotten."""
    horizon, forgotten = state.max_event_ms - retention_ms, 0
    for windows in state.windows.values():
        keep = []
        for window in windows.windows:
            if window.end_ms < horizon:
                for task_id in window.tasks:
                    state.joins.pop(task_id, None)
                    state.window_of_task.pop(task_id, None)
                    forgotten += 1
            else:
                keep.append(window)
        windows.windows = keep  # the KeyWindows (and its version counter) stays
    for task_id in [t for t, j in state.joins.items()
                    if j.task is None and j.orphans_written and now_ms - j.first_seen_ms > retention_ms]:
        del state.joins[task_id]
    return forgotten


def task_expander(decoder: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """How a `CompactTask` gets its whole record back: decoded again from its wire bytes."""
    def expand(compact: dict[str, Any]) -> dict[str, Any]:
        _, record = decoder.decode(compact[RAW], expected_kind="task")
        record[RAW] = compact[RAW]
        return record
    return expand


def compact(state: KeyState, task_ids: set[str], expand: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Keep only what the rules read of these tasks (those with their wire bytes)."""
    for task_id in task_ids:
        join = state.joins.get(task_id)
        if join is not None and join.task is not None and type(join.task) is not CompactTask and RAW in join.task:
            join.task = CompactTask(join.task, RAW, expand)


def process(state: KeyState, events: list[tuple[str, dict[str, Any]]], now_ms: int,
            gap_ms: int = DEFAULT_GAP_MS, retention_ms: int = DEFAULT_RETENTION_MS,
            expand: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Output:
    """Apply one key's events of a batch (in arrival order), then forget closed history. With
    `expand` (`task_expander`), the batch's tasks are then kept as `CompactTask`s."""
    out = Output()
    state.tombstones = []  # the last batch's went out before this one came
    for kind, record in events:
        if kind == "task":
            _on_task(state, record, now_ms, gap_ms, out)
        elif kind == "span":
            task_id = record.get("task_id")
            if not task_id:  # no task to wait for: written at once, as an orphan
                out.spans.append(_span_row({**record, "orphan": True, "version": 1}))
                continue
            join = state.joins.setdefault(task_id, TaskJoin(task_id, now_ms))
            out.extend(on_span(join, record), state)
            if join.task is not None and join.task.get("total_tokens") is None:  # its steps' tokens count
                _update_window(state, join, out, tokens=_task_tokens(join))
        elif kind == "feedback":
            join = state.joins.setdefault(record["task_id"], TaskJoin(record["task_id"], now_ms))
            out.extend(on_feedback(join, record), state)
            if join.task is not None:  # the task's window counts its latest flag
                _update_window(state, join, out, flag=latest_feedback(join)[0])
    evict(state, now_ms, retention_ms)
    if expand is not None:
        compact(state, {record.get("task_id") for _, record in events}, expand)
    return out


def _update_window(state: KeyState, join: TaskJoin, out: Output, **changes: Any) -> None:
    """A known task changed what its window counts: the window's row is written again."""
    assert join.task is not None
    windows = state.windows.get(_task_key(join.task))
    if windows is not None:
        _window_rows(windows, update_task(windows, join.task_id, **changes), [], state, out)


def _task_tokens(join: TaskJoin) -> int:
    """A task's tokens for its session: what the app logged, else what its steps (spans) used."""
    assert join.task is not None
    if join.task.get("total_tokens") is not None:
        return join.task["total_tokens"]
    return sum((s.get("input_tokens") or 0) + (s.get("output_tokens") or 0) for s in join.spans.values())


def _task_key(record: dict[str, Any]) -> str:
    return session_key(record["session_id"], record["session_id_generated"], record["user_id"], record["task_id"])


def _on_task(state: KeyState, record: dict[str, Any], now_ms: int, gap_ms: int, out: Output) -> None:
    task_id = record["task_id"]
    skey = _task_key(record)
    at_ms = to_ms(record["created_at"])
    state.max_event_ms = max(state.max_event_ms, at_ms)
    join = state.joins.get(task_id)
    if join is None:
        join = state.joins[task_id] = TaskJoin(task_id, now_ms)
    rows = on_task(join, record)
    if not rows:
        return  # re-delivered or older: nothing changes
    windows = state.windows.get(skey)
    if windows is None:
        windows = state.windows[skey] = KeyWindows(skey)
    point = TaskPoint(task_id, at_ms, record["input"], record["session_id"], record["user_id"],
                      _task_tokens(join), latest_feedback(join)[0], bool(record.get("errors")))
    upserts, removed = add_task(windows, point, gap_ms)
    moved = _window_rows(windows, upserts, removed, state, out, added=task_id)
    out.extend(rows, state)
    written = {task_id}
    for other in moved:  # tasks that changed window: written again with the new window id
        if other not in written and state.joins.get(other) and state.joins[other].task is not None:
            other_join = state.joins[other]
            other_join.version += 1
            out.extend(Rows(tasks=[task_row(other_join)]), state)
            written.add(other)


def expire_state(state: KeyState, now_ms: int, grace_ms: int = DEFAULT_GRACE_MS) -> Output:
    """The timer's work: orphans past the grace period."""
    out = Output()
    for join in state.joins.values():
        out.extend(expire(join, now_ms, grace_ms), state)
    return out
