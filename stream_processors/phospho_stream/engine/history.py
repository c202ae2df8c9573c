"""The analytics stage's state, per partition: each session's latest tasks, as session-scope
events read them, and the events each was given (so an analysis made again can retract one).
One changelog record per task kept; a task leaves when newer ones push it out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from ..rules.analytics import TaskText

__all__ = ["SessionHistory", "Entry"]

_FORMAT = 5
T = TypeVar("T")


@dataclass(slots=True)
class Entry:
    text: TaskText
    events: tuple[str, ...] = ()
    #: what `SessionHistory.earlier` made of the text (made once while the entry is kept)
    made: Any = None


@dataclass(slots=True)
class SessionHistory:
    keep: int  # tasks kept per session
    max_chars: int  # characters kept per text
    sessions: dict[str, dict[str, Entry]] = field(default_factory=dict)
    dirty: set[tuple[str, str]] = field(default_factory=set)
    removed: set[tuple[str, str]] = field(default_factory=set)

    def tasks(self, skey: str) -> list[TaskText]:
        return [entry.text for entry in self.sessions.get(skey, {}).values()]

    def earlier(self, skey: str, make: Callable[[TaskText], T]) -> list[T]:
        """The session's tasks as `make` turns them, each made once while it is kept."""
        out = []
        for entry in self.sessions.get(skey, {}).values():
            if entry.made is None:
                entry.made = make(entry.text)
            out.append(entry.made)
        return out

    def events_of(self, skey: str, task_id: str) -> tuple[str, ...]:
        entry = self.sessions.get(skey, {}).get(task_id)
        return entry.events if entry else ()

    def put(self, skey: str, text: TaskText, events: tuple[str, ...], made: Any = None) -> None:
        """Keep `text` (cut to max_chars) with its events; the session's oldest go beyond `keep`.
        `made` is what `earlier` would make of the kept text were it not cut: kept if it was not."""
        cut = TaskText(text.task_id, _cut(text.input, self.max_chars), _cut(text.output, self.max_chars),
                       None, created_at_ms=text.created_at_ms)
        whole = _whole(text.input, cut.input) and _whole(text.output, cut.output)
        entries = self.sessions.setdefault(skey, {})
        entries[text.task_id] = Entry(cut, events, made if whole else None)
        self.dirty.add((skey, text.task_id))
        if len(entries) > self.keep:
            for old in sorted(entries, key=lambda t: entries[t].text.created_at_ms)[:len(entries) - self.keep]:
                del entries[old]
                self.dirty.discard((skey, old))
                self.removed.add((skey, old))

    def retag(self, skey: str, task_id: str, events: tuple[str, ...]) -> None:
        """A kept task's events changed (its text did not)."""
        self.sessions[skey][task_id].events = events
        self.dirty.add((skey, task_id))

    def load(self, records: dict[bytes, bytes]) -> int:
        for key, blob in records.items():
            if key.startswith(b"h\x00"):
                skey, task_id = key[2:].decode("utf-8", "surrogatepass").rsplit("\x00", 1)
                _, (at, inp, out, events) = orjson.loads(blob)
                self.sessions.setdefault(skey, {})[task_id] = Entry(TaskText(task_id, inp, out, created_at_ms=at),
                                                                   tuple(events))
        return sum(len(e) for e in self.sessions.values())

    def records(self) -> list[tuple[bytes, bytes]]:
        out = [(_key(skey, task_id), b"") for skey, task_id in self.removed]
        for skey, task_id in self.dirty:
            entry = self.sessions.get(skey, {}).get(task_id)
            if entry is not None:
                text = entry.text
                out.append((_key(skey, task_id), orjson.dumps(
                    [_FORMAT, [text.created_at_ms, text.input, text.output, list(entry.events)]])))
        self.dirty.clear()
        self.removed.clear()
        return out


def _key(skey: str, task_id: str) -> bytes:
    return b"h\x00" + f"{skey}\x00{task_id}".encode("utf-8", "surrogatepass")


def _whole(value: object, cut: str) -> bool:
    """Whether `cut` is `value` as it was (None is kept as '')."""
    return cut == "" if value is None else isinstance(value, str) and value == cut


def _cut(value: object, limit: int) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text[:limit]
