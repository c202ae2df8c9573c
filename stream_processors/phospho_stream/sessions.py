"""Session windows on event time, as plain functions (no faust): the faust layer keeps one
`KeyWindows` per sessionization key in a table and emits what `add_task` returns.

Rules (the pipeline issue):
- key: the session_id the app gave; for tasks logged without one but with a user_id, the
  user_id (sessionized per user); tasks with neither are sessions of one task, as in phospho;
- a key's tasks are cut into windows where the gap between consecutive tasks (event time)
  exceeds the inactivity timeout (default 30 min): a chat resumed the next day is a new window;
- a late task extends, splits nothing, or merges the windows it bridges; re-delivery of a task
  (same task_id) changes nothing, an update of a task (same task_id, new content) replaces it.

Each window is identified by its key and its earliest task, so an id changes only when a task
earlier than the window's first arrives; the old id is then reported as removed (a tombstone
downstream). Every emitted row carries a version that grows per key, so storage can keep the
newest row per window id (ReplacingMergeTree(version, is_deleted)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_GAP_MS",
    "TaskPoint",
    "Window",
    "KeyWindows",
    "session_key",
    "add_task",
    "update_task",
    "window_row",
]

DEFAULT_GAP_MS = 30 * 60 * 1000


def session_key(session_id: str, session_id_generated: bool, user_id: str | None, task_id: str) -> str:
    """The sessionization key of a task (prefixed so that the kinds never collide)."""
    if not session_id_generated:
        return f"s:{session_id}"
    if user_id:
        return f"u:{user_id}"
    return f"t:{task_id}"


class TaskPoint(NamedTuple):
    """What a session window needs of a task (a tuple: cheap to keep and to pickle)."""

    task_id: str
    at_ms: int
    input: str
    session_id: str
    user_id: str | None = None
    tokens: int = 0
    flag: str | None = None  # the task's latest feedback: "success" / "failure"
    has_errors: bool = False  # the SDK recorded errors on the task (coerced input, ...)


@dataclass(slots=True)
class Window:
    """A window's tasks. Its first and last task are computed once per change: whoever changes
    `tasks` calls `changed()`."""

    tasks: dict[str, TaskPoint] = field(default_factory=dict)
    _ends: tuple[TaskPoint, TaskPoint] | None = field(default=None, repr=False, compare=False)
    _sums: _Sums | None = field(default=None, repr=False, compare=False)
    encoded: bytes | None = field(default=None, repr=False, compare=False)  # the state codec's, until a change
    # tasks added at the end since `encoded` was made: the codec appends just those (state_codec)
    appended: list[TaskPoint] | None = field(default=None, repr=False, compare=False)

    def changed(self) -> None:
        self._ends = None
        self._sums = None
        self.encoded = None
        self.appended = None

    def add(self, task: TaskPoint) -> None:
        """A task new to this window; its first and last task and its sums are kept up to date
        without a scan."""
        if task.task_id in self.tasks or self._ends is None or self._sums is None:
            self.tasks[task.task_id] = task
            self.changed()
            return
        self.tasks[task.task_id] = task
        if self.encoded is not None:
            if self.appended is None:
                self.appended = [task]
            else:
                self.appended.append(task)
        first, last = self._ends
        if _order(task) < _order(first):
            first = task
        if _order(task) > _order(last):
            last = task
        self._ends = (first, last)
        self._sums = self._sums.plus(task)

    def sums(self) -> _Sums:
        if self._sums is None:
            sums = _Sums()
            for task in self.tasks.values():
                sums = sums.plus(task)
            self._sums = sums
        return self._sums

    def _bounds(self) -> tuple[TaskPoint, TaskPoint]:
        if self._ends is None:
            self._ends = (min(self.tasks.values(), key=_order), max(self.tasks.values(), key=_order))
        return self._ends

    @property
    def first(self) -> TaskPoint:
        return self._bounds()[0]

    @property
    def last(self) -> TaskPoint:
        return self._bounds()[1]

    @property
    def start_ms(self) -> int:
        return self._bounds()[0].at_ms

    @property
    def end_ms(self) -> int:
        return self._bounds()[1].at_ms

    def window_id(self, key: str) -> str:
        return f"{key}|{self._bounds()[0].task_id}"


def _order(t: TaskPoint) -> tuple[int, str]:
    return (t.at_ms, t.task_id)


class _Sums(NamedTuple):
    """What a window's row adds up over its tasks."""

    tokens: int = 0
    successes: int = 0
    failures: int = 0
    with_errors: int = 0
    latest_with_user: TaskPoint | None = None  # the latest task that has a user_id

    def plus(self, t: TaskPoint) -> _Sums:
        latest = self.latest_with_user
        if t.user_id and (latest is None or _order(t) > _order(latest)):
            latest = t
        return _Sums(self.tokens + t.tokens, self.successes + (t.flag == "success"), self.failures + (t.flag == "failure"),
                     self.with_errors + bool(t.has_errors), latest)


@dataclass(slots=True)
class KeyWindows:
    """All windows of one key, ordered by start, and the key's version counter."""

    key: str
    windows: list[Window] = field(default_factory=list)
    version: int = 0

    def window_of(self, task_id: str) -> Window | None:
        for window in self.windows:
            if task_id in window.tasks:
                return window
        return None


def add_task(state: KeyWindows, task: TaskPoint, gap_ms: int = DEFAULT_GAP_MS) -> tuple[list[Window], list[str]]:
    """Put `task` in its window. Returns (windows to upsert, ids of windows that no longer
    exist). Idempotent: adding the same TaskPoint again returns nothing to do."""
    existing = state.window_of(task.task_id)
    if existing is not None:
        if existing.tasks[task.task_id] == task:
            return [], []
        before = {id(w): w.window_id(state.key) for w in state.windows}
        old = existing.tasks.pop(task.task_id)
        existing.changed()
        if task.at_ms == old.at_ms:  # same place in time: an update in place
            existing.tasks[task.task_id] = task._replace(flag=task.flag or old.flag)
            return _changes(state, before, [existing])
        task = task._replace(flag=task.flag or old.flag)
        split = _resplit(state, existing, gap_ms)  # the task moved: its old window may split
        upserts, removed = _insert(state, task, gap_ms, before)
        return _merge_changes(state, before, split + upserts, removed)
    return _insert(state, task, gap_ms, None)


def _insert(state: KeyWindows, task: TaskPoint, gap_ms: int, before: dict[int, str] | None) -> tuple[list[Window], list[str]]:
    """Put a task new to the key's windows in place: a window of its own, the window it falls
    in, or the windows it bridges merged into one. Only those windows can change id, so
    `before` (window ids by id(window)) needs only them when the caller has no fuller one."""
    windows, at = state.windows, task.at_ms
    if before is None and windows:
        newest = windows[-1]
        if newest.start_ms <= at <= newest.end_ms + gap_ms and _order(task) > _order(newest.first):
            # the common case: a task within reach of the newest window, after its first task.
            # No other window is near (windows are more than a gap apart), and this one keeps its id
            newest.add(task)
            state.version += 1
            return [newest], []
    near = [w for w in windows if w.start_ms - gap_ms <= at <= w.end_ms + gap_ms]
    if before is None:
        before = {id(w): w.window_id(state.key) for w in near}
    if not near:
        window = Window({task.task_id: task})
        if windows and at < windows[-1].start_ms:  # late: not the newest window
            windows.append(window)
            windows.sort(key=_start)
        else:
            windows.append(window)
        return _changes(state, before, [window])
    target = near[0]
    first_before = target.start_ms
    for other in near[1:]:  # the task bridges windows: they become one
        target.tasks.update(other.tasks)
        target.changed()
        windows.remove(other)
    target.add(task)
    if len(near) > 1 or target.start_ms < first_before:
        windows.sort(key=_start)
    return _changes(state, before, [target])


def _start(window: Window) -> int:
    return window.start_ms


def _resplit(state: KeyWindows, window: Window, gap_ms: int) -> list[Window]:
    """After a task left `window`, cut it again where gaps now exceed the timeout."""
    state.windows.remove(window)
    if not window.tasks:
        return []
    points = sorted(window.tasks.values(), key=lambda t: (t.at_ms, t.task_id))
    parts: list[Window] = [Window({points[0].task_id: points[0]})]
    for prev, point in zip(points, points[1:], strict=False):
        if point.at_ms - prev.at_ms > gap_ms:
            parts.append(Window())
        parts[-1].tasks[point.task_id] = point
        parts[-1].changed()
    state.windows.extend(parts)
    state.windows.sort(key=lambda w: w.start_ms)
    return parts


def _changes(state: KeyWindows, before: dict[int, str], touched: list[Window]) -> tuple[list[Window], list[str]]:
    return _merge_changes(state, before, touched, [])


def _merge_changes(
    state: KeyWindows, before: dict[int, str], touched: list[Window], removed: list[str]
) -> tuple[list[Window], list[str]]:
    touched_ids = {id(t) for t in touched}
    live = [w for w in state.windows if id(w) in touched_ids]
    state.version += 1
    if not before and not removed:  # no window had an id to lose (a key's first task, a task far from the others)
        return live, []
    # a window neither touched nor in `before` kept its id, which no window in `before` had
    live_ids = {w.window_id(state.key) for w in state.windows if id(w) in touched_ids or id(w) in before}
    gone = sorted({wid for wid in list(before.values()) + removed if wid not in live_ids})
    return live, gone


def update_task(state: KeyWindows, task_id: str, **changes: Any) -> list[Window]:
    """Record what changed of a task already in a window (its latest feedback `flag`, its
    `tokens`, which its steps may bring after it); returns the window to upsert (or nothing)."""
    window = state.window_of(task_id)
    if window is None:
        return []
    point = window.tasks[task_id]
    updated = point._replace(**changes)
    if updated == point:
        return []
    window.tasks[task_id] = updated
    window.changed()
    state.version += 1
    return [window]


def window_row(state: KeyWindows, window: Window) -> dict[str, Any]:
    """The `sessions` row of a window."""
    first, last = window.first, window.last
    sums = window.sums()
    return {
        "window_id": window.window_id(state.key),
        "session_key": state.key,
        "session_id": first.session_id,
        "user_id": sums.latest_with_user.user_id if sums.latest_with_user else None,
        "start_ms": first.at_ms,
        "end_ms": last.at_ms,
        "duration_ms": last.at_ms - first.at_ms,
        "task_count": len(window.tasks),
        "first_input": first.input,
        "last_input": last.input,
        "total_tokens": sums.tokens,
        "success_count": sums.successes,
        "failure_count": sums.failures,
        "tasks_with_errors": sums.with_errors,
        "version": state.version,
    }
