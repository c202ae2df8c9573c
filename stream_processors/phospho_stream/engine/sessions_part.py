"""The core stage's session half, for one partition of `core.points`: points in, session rows
and task window ids out, one state record per task point changed."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from ..rules.sessions import KeyWindows, Point, Window, add_task, moved_tasks, window_row
from .clock import VersionClock
from .codec import dump_point, load_point, point_key, split_point_key

__all__ = ["SessionsPart"]

_CORE = {"at": "at_ms", "s": "session_id", "u": "user_id", "p": "preview", "tok": "tokens", "f": "flag",
         "e": "has_errors"}
_ANALYSIS = {"lang": "language", "sent": "sentiment", "ev": "events", "cost": "cost_usd", "ef": "eval_flag"}


@dataclass(slots=True)
class _Key:
    windows: KeyWindows
    versions: dict[str, list[int]] = field(default_factory=dict)  # task_id -> [core version, analysis version]
    touched_ms: int = 0  # wall time of its last point (idle keys are forgotten)


class SessionsPart:
    def __init__(self, partition: int, clock: VersionClock, gap_ms: int) -> None:
        self.partition, self.clock, self.gap_ms = partition, clock, gap_ms
        self.keys: dict[str, _Key] = {}
        self.dirty: set[tuple[str, str]] = set()  # (session key, task_id) to write
        self.removed: set[tuple[str, str]] = set()
        # a batch's rows, one per stored id: storage keeps only the newest of each; a window's row
        # is made once, when the batch is drained (a tombstone at once)
        self._sessions: dict[str, dict[str, Any] | tuple[KeyWindows, Window]] = {}
        self._windows_of: dict[str, str] = {}

    def load(self, records: dict[bytes, bytes], now_ms: int) -> int:
        """Rebuild the windows from the partition's point records; returns the points read."""
        by_key: dict[str, list[tuple[Point, int, int, str | None]]] = {}
        for key, blob in records.items():
            if key.startswith(b"p\x00"):
                by_key.setdefault(split_point_key(key), []).append(load_point(blob))
        for skey, entries in by_key.items():
            state = self.keys[skey] = _Key(KeyWindows(skey), touched_ms=now_ms)
            for point, jv, av, _ in sorted(entries, key=lambda e: (e[0].at_ms, e[0].task_id)):
                add_task(state.windows, point, self.gap_ms)
                state.versions[point.task_id] = [jv, av]
            reported = {e[0].task_id: e[3] for e in entries}
            for window in state.windows.windows:
                window_id = window.window_id(skey)
                if all(reported[t] == window_id for t in window.tasks):
                    window.reported_id = window_id
        return sum(len(entries) for entries in by_key.values())

    def apply(self, point: dict[str, Any], now_ms: int) -> None:
        """One point (the core's figures of a task, or the analysis stage's) into its window."""
        skey, task_id = point["k"], point["t"]
        state = self.keys.get(skey)
        if state is None:
            state = self.keys[skey] = _Key(KeyWindows(skey))
        state.touched_ms = now_ms
        old = state.windows.where.get(task_id)
        current = old.tasks[task_id] if old is not None else None
        versions = state.versions.get(task_id, [0, 0])
        if "jv" in point:
            if point["jv"] <= versions[0]:
                return  # delivered again
            if point.get("rm"):
                self._remove(state, task_id)
                return
            if current is None and "at" not in point:
                return  # an update for a task this key no longer holds
            core = {f: point[k] for k, f in _CORE.items() if k in point}
            for name in ("session_id", "user_id"):  # shared by a session's (a user's) many points
                if isinstance(core.get(name), str):
                    core[name] = sys.intern(core[name])
            updated = current._replace(**core) if current else Point(task_id, **core)
            versions[0] = point["jv"]
        else:
            if current is None or point["av"] <= versions[1]:
                return  # analysed before its task came here, or delivered again
            figures = {f: point[k] for k, f in _ANALYSIS.items() if k in point}  # a cost alone, or everything
            if "events" in figures:
                figures["events"] = tuple(figures["events"] or ())
            if "language" in figures:
                figures["analyzed"] = True
            updated = current._replace(**figures)
            versions[1] = point["av"]
        state.versions[task_id] = versions
        upserts, removed = add_task(state.windows, updated, self.gap_ms)
        self._rows(state, upserts, removed, task_id)
        self.dirty.add((skey, task_id))

    def _remove(self, state: _Key, task_id: str) -> None:
        """A task that left this session (logged again under another one)."""
        window = state.windows.where.pop(task_id, None)
        state.versions.pop(task_id, None)
        self.removed.add((state.windows.key, task_id))
        if window is None:
            return
        before = window.window_id(state.windows.key)
        window.remove(task_id)
        if not window.tasks:
            state.windows.windows.remove(window)
            self._sessions[before] = _tombstone(state.windows.key, before, self.clock.next())
            return
        self._rows(state, [window], [before] if window.window_id(state.windows.key) != before else [], None)

    def _rows(self, state: _Key, upserts: list, removed: list[str], changed: str | None) -> None:
        key = state.windows.key
        for window_id in removed:
            self._sessions[window_id] = _tombstone(key, window_id, self.clock.next())
        for window in upserts:
            window_id = window.window_id(key)
            self._sessions[window_id] = (state.windows, window)
            for task_id in moved_tasks(state.windows, window, changed, bool(removed)):
                self._windows_of[task_id] = window_id
                self.dirty.add((key, task_id))

    def drain_rows(self) -> list[tuple[str, dict[str, Any]]]:
        """The batch's rows as (table, row), one per stored id; clears them."""
        rows: list[tuple[str, dict[str, Any]]] = []
        for window_id, entry in self._sessions.items():
            if isinstance(entry, dict):
                rows.append(("sessions", entry))
            elif entry[1].tasks and entry[1].window_id(entry[0].key) == window_id:  # else replaced since
                rows.append(("sessions", window_row(entry[0], entry[1], self.clock.next())))
        rows += [("tasks", {"task_id": t, "window_id": w}) for t, w in self._windows_of.items()]
        self._sessions.clear()
        self._windows_of.clear()
        return rows

    def evict(self, now_ms: int, retention_ms: int) -> int:
        """Forget windows that ended `retention_ms` (event time) before their key's newest task,
        and keys no point touched for `retention_ms` (wall time). Their rows are final."""
        forgotten = 0
        for skey in list(self.keys):
            state = self.keys[skey]
            windows = state.windows
            if now_ms - state.touched_ms > retention_ms:
                gone = list(windows.where)
                del self.keys[skey]
            else:
                horizon = windows.windows[-1].end_ms - retention_ms if windows.windows else 0
                old = [w for w in windows.windows if w.end_ms < horizon]
                gone = [t for w in old for t in w.tasks]
                windows.windows = [w for w in windows.windows if w.end_ms >= horizon]
                for task_id in gone:
                    del windows.where[task_id]
                    state.versions.pop(task_id, None)
            self.removed.update((skey, task_id) for task_id in gone)
            forgotten += len(gone)
        return forgotten

    def records(self) -> list[tuple[bytes, bytes]]:
        """The changed points' records (an empty value forgets one); clears the changes."""
        out = [(point_key(skey, task_id), b"") for skey, task_id in self.removed]
        for skey, task_id in self.dirty:
            state = self.keys.get(skey)
            window = state.windows.where.get(task_id) if state else None
            if window is None:
                continue
            jv, av = state.versions.get(task_id, [0, 0])
            out.append((point_key(skey, task_id), dump_point(window.tasks[task_id], jv, av, window.reported_id)))
        self.dirty.clear()
        self.removed.clear()
        return out


def _tombstone(key: str, window_id: str, version: int) -> dict[str, Any]:
    return {"window_id": window_id, "session_key": key, "session_id": "", "user_id": None, "start_ms": 0, "end_ms": 0,
            "duration_ms": 0, "task_count": 0, "first_input": "", "last_input": "", "total_tokens": 0,
            "success_count": 0, "failure_count": 0, "tasks_with_errors": 0, "languages": {}, "sentiment_sum": 0.0,
            "sentiment_count": 0, "sentiment_min": None, "event_counts": {}, "cost_usd": 0.0, "analyzed_count": 0,
            "version": version, "is_deleted": 1}
