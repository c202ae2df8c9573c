"""Session windows on event time, as plain functions: tasks of one session key in, windows out.

- key: the session_id the app gave; for tasks logged without one but with a user_id, the
  user_id (sessionized per user); tasks with neither are sessions of one task, as in phospho;
- a key's tasks are cut into windows where the gap between consecutive tasks (event time)
  exceeds the inactivity timeout (default 30 min): a chat resumed the next day is a new window;
- a late task extends a window, or merges the windows it bridges; a task seen again with the
  same figures changes nothing; new figures of a known task (its flag, tokens, analysis) update
  its window in place; a task whose time moved may split its old window.

A window is identified by its key and its earliest task, so its id changes only when an
earlier task arrives; the old id is then reported as removed (a tombstone downstream). Figures
are kept as running sums, so a change costs what it changes, whatever the window's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["DEFAULT_GAP_MS", "Point", "Window", "KeyWindows", "session_key", "add_task", "moved_tasks", "window_row"]

DEFAULT_GAP_MS = 30 * 60 * 1000


def session_key(session_id: str, session_id_generated: bool, user_id: str | None, task_id: str) -> str:
    """The sessionization key of a task (prefixed so that the kinds never collide)."""
    if not session_id_generated:
        return f"s:{session_id}"
    if user_id:
        return f"u:{user_id}"
    return f"t:{task_id}"


class Point(NamedTuple):
    """What a session window needs of a task: its time and figures, no texts but a preview."""

    task_id: str
    at_ms: int
    session_id: str
    user_id: str | None = None
    preview: str = ""  # the start of the task's input (sessions show their first and last input)
    tokens: int = 0
    flag: str | None = None  # the task's latest feedback: success / failure
    has_errors: bool = False
    language: str | None = None  # the analysis stage's figures, once it has reported
    sentiment: float | None = None
    events: tuple[str, ...] = ()
    cost_usd: float | None = None
    analyzed: bool = False
    eval_flag: str | None = None  # the LLM evaluation's verdict: counts when the user gave no feedback

    @property
    def outcome(self) -> str | None:
        """What the task's success counts on: the user's feedback, else the model's verdict."""
        return self.flag or self.eval_flag


def _order(p: Point) -> tuple[int, str]:
    return (p.at_ms, p.task_id)


@dataclass(slots=True)
class Window:
    """A window's tasks and running sums over them."""

    tasks: dict[str, Point] = field(default_factory=dict)
    tokens: int = 0
    successes: int = 0
    failures: int = 0
    with_errors: int = 0
    languages: dict[str, int] = field(default_factory=dict)  # a plain dict: a Counter costs ~3 us to create
    sentiment_sum: float = 0.0
    sentiment_count: int = 0
    event_counts: dict[str, int] = field(default_factory=dict)
    cost_usd: float = 0.0
    analyzed: int = 0
    _first: Point | None = None
    _last: Point | None = None
    _min_sentiment: float | None = None
    _latest_user: Point | None = None  # the latest task that has a user_id
    _stale: bool = False  # a removal may have taken the first, last or lowest: recompute on demand
    reported_id: str | None = None  # the id its tasks were last told (`moved_tasks`)

    def add(self, p: Point) -> None:
        self.tasks[p.task_id] = p
        self._count(p, 1)
        if not self._stale:
            if self._first is None or _order(p) < _order(self._first):
                self._first = p
            if self._last is None or _order(p) > _order(self._last):
                self._last = p
            if p.sentiment is not None and (self._min_sentiment is None or p.sentiment < self._min_sentiment):
                self._min_sentiment = p.sentiment
            if p.user_id and (self._latest_user is None or _order(p) > _order(self._latest_user)):
                self._latest_user = p

    def remove(self, task_id: str) -> Point:
        p = self.tasks.pop(task_id)
        self._count(p, -1)
        if p is self._first or p is self._last or p is self._latest_user or (
                p.sentiment is not None and p.sentiment == self._min_sentiment):
            self._stale = True
        return p

    def _count(self, p: Point, sign: int) -> None:
        self.tokens += sign * p.tokens
        outcome = p.outcome
        self.successes += sign * (outcome == "success")
        self.failures += sign * (outcome == "failure")
        self.with_errors += sign * p.has_errors
        if p.language:
            self.languages[p.language] = self.languages.get(p.language, 0) + sign
        if p.sentiment is not None:
            self.sentiment_sum += sign * p.sentiment
            self.sentiment_count += sign
        for name in p.events:
            self.event_counts[name] = self.event_counts.get(name, 0) + sign
        if p.cost_usd is not None:
            self.cost_usd += sign * p.cost_usd
        self.analyzed += sign * p.analyzed

    def _refresh(self) -> None:
        if self._stale:
            points = self.tasks.values()
            self._first, self._last = min(points, key=_order), max(points, key=_order)
            sentiments = [p.sentiment for p in points if p.sentiment is not None]
            self._min_sentiment = min(sentiments) if sentiments else None
            with_user = [p for p in points if p.user_id]
            self._latest_user = max(with_user, key=_order) if with_user else None
            self._stale = False

    @property
    def first(self) -> Point:
        self._refresh()
        assert self._first is not None
        return self._first

    @property
    def last(self) -> Point:
        self._refresh()
        assert self._last is not None
        return self._last

    @property
    def min_sentiment(self) -> float | None:
        self._refresh()
        return self._min_sentiment

    @property
    def user_id(self) -> str | None:
        self._refresh()
        return self._latest_user.user_id if self._latest_user is not None else None

    @property
    def start_ms(self) -> int:
        return self.first.at_ms

    @property
    def end_ms(self) -> int:
        return self.last.at_ms

    def window_id(self, key: str) -> str:
        return f"{key}|{self.first.task_id}"


@dataclass(slots=True)
class KeyWindows:
    """All windows of one key, ordered by start, and where each task is."""

    key: str
    windows: list[Window] = field(default_factory=list)
    where: dict[str, Window] = field(default_factory=dict)  # task_id -> its window

    def window_of(self, task_id: str) -> Window | None:
        return self.where.get(task_id)


def add_task(state: KeyWindows, point: Point, gap_ms: int = DEFAULT_GAP_MS) -> tuple[list[Window], list[str]]:
    """Put `point` in its window (new, or new figures of a known task). Returns (windows to
    write, ids of windows that no longer exist). A point equal to the known one changes nothing."""
    window = state.where.get(point.task_id)
    if window is None:
        return _insert(state, point, gap_ms)
    old = window.tasks[point.task_id]
    if old == point:
        return [], []
    if old.at_ms == point.at_ms:  # same place in time: new figures, in place
        window.remove(point.task_id)
        window.add(point)
        return [window], []
    before = window.window_id(state.key)
    window.remove(point.task_id)
    del state.where[point.task_id]
    parts = _resplit(state, window, gap_ms)
    upserts, removed = _insert(state, point, gap_ms)
    live = {w.window_id(state.key) for w in state.windows}
    gone = sorted({wid for wid in [before, *removed] if wid not in live})
    touched = [w for w in state.windows if any(w is x for x in [*parts, *upserts])]
    return touched, gone


def _insert(state: KeyWindows, point: Point, gap_ms: int) -> tuple[list[Window], list[str]]:
    """A task new to the key: a window of its own, the window it falls in, or the windows it
    bridges merged into one."""
    windows, at = state.windows, point.at_ms
    if windows:  # the common case: within reach of the newest window, after its first task
        newest = windows[-1]
        if newest.start_ms <= at <= newest.end_ms + gap_ms and _order(point) > _order(newest.first):
            newest.add(point)
            state.where[point.task_id] = newest
            return [newest], []
    near = [w for w in windows if w.start_ms - gap_ms <= at <= w.end_ms + gap_ms]
    if not near:
        window = Window()
        window.add(point)
        state.where[point.task_id] = window
        windows.append(window)
        windows.sort(key=lambda w: w.start_ms)
        return [window], []
    ids_before = [w.window_id(state.key) for w in near]
    target = near[0]
    for other in near[1:]:  # the task bridges windows: they become one
        for p in other.tasks.values():
            target.add(p)
            state.where[p.task_id] = target
        windows.remove(other)
    target.add(point)
    state.where[point.task_id] = target
    windows.sort(key=lambda w: w.start_ms)
    new_id = target.window_id(state.key)
    return [target], [wid for wid in ids_before if wid != new_id]


def _resplit(state: KeyWindows, window: Window, gap_ms: int) -> list[Window]:
    """After a task left `window`, cut it again where gaps now exceed the timeout."""
    state.windows.remove(window)
    if not window.tasks:
        return []
    points = sorted(window.tasks.values(), key=_order)
    parts = [Window()]
    for prev, point in zip([None, *points], points, strict=False):
        if prev is not None and point.at_ms - prev.at_ms > gap_ms:
            parts.append(Window())
        parts[-1].add(point)
        state.where[point.task_id] = parts[-1]
    state.windows.extend(parts)
    state.windows.sort(key=lambda w: w.start_ms)
    return parts


def moved_tasks(state: KeyWindows, window: Window, changed: str | None, merged: bool) -> list[str]:
    """Tasks of `window` whose window id differs from the one they were last told: every task
    when the window was renamed or merged into, else only `changed` (a task just added)."""
    window_id = window.window_id(state.key)
    if merged or window.reported_id != window_id:
        window.reported_id = window_id
        return list(window.tasks)
    return [changed] if changed is not None and changed in window.tasks else []


def window_row(state: KeyWindows, window: Window, version: int) -> dict[str, Any]:
    """The `sessions` row of a window (phospho_schemas.rows.SessionRow)."""
    first, last = window.first, window.last
    return {
        "window_id": window.window_id(state.key), "session_key": state.key, "session_id": first.session_id,
        "user_id": window.user_id, "start_ms": first.at_ms, "end_ms": last.at_ms, "duration_ms": last.at_ms - first.at_ms,
        "task_count": len(window.tasks), "first_input": first.preview, "last_input": last.preview,
        "total_tokens": window.tokens, "success_count": window.successes, "failure_count": window.failures,
        "tasks_with_errors": window.with_errors, "languages": {k: v for k, v in window.languages.items() if v > 0},
        "sentiment_sum": window.sentiment_sum, "sentiment_count": window.sentiment_count,
        "sentiment_min": window.min_sentiment, "event_counts": {k: v for k, v in window.event_counts.items() if v > 0},
        "cost_usd": window.cost_usd, "analyzed_count": window.analyzed, "version": version, "is_deleted": 0,
    }
