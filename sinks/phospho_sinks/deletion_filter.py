"""The sink's tombstones: rows of deleted users never reach the store again (a replay of Kafka,
a reanalysis, a late event).

Each row message (JSONEachRow, written by orjson: `"user_id":"u1"` without spaces) is searched
once, in C (Aho-Corasick), for the deleted users' ids, their tasks' ids and their windows' ids
as they appear in a row (and for windows opened by their tasks: a window's id ends with
`|<first task id>`); only a message that holds one is parsed, and its rows of deleted users,
tasks or windows are left out. Without any deletion, nothing is searched.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick
import orjson

from phospho_schemas.rows import STORE_DATABASE

from .backend import Store

__all__ = ["Tombstones"]

_FIELDS = (("user_id", 0), ("task_id", 1), ("window_id", 2))


class Tombstones:
    def __init__(self) -> None:
        self._ids: tuple[set[str], set[str], set[str]] = (set(), set(), set())
        self._automaton: ahocorasick.Automaton | None = None

    def __len__(self) -> int:
        return len(self._ids[0])

    def load(self, store: Store, request_id: str | None = None) -> None:
        """Every deletion the store recorded (phospho_store.deleted_users), or the one of
        `request_id` (its tombstone, once delete_user wrote it)."""
        sql = f"SELECT user_id, task_ids, window_ids FROM {STORE_DATABASE}.deleted_users"
        params = None
        if request_id is not None:
            sql, params = f"{sql} WHERE request_id = {{r:String}}", {"r": request_id}
        for user_id, task_ids, window_ids in store.query(sql, params).rows:
            self.add(user_id, task_ids, window_ids)

    def add(self, user_id: str, task_ids: Iterable[str] = (), window_ids: Iterable[str] = ()) -> None:
        users, tasks, windows = self._ids
        users.add(user_id)
        tasks.update(task_ids)
        windows.update(window_ids)
        self._automaton = None

    def _search(self) -> ahocorasick.Automaton:
        automaton = ahocorasick.Automaton()
        for name, index in _FIELDS:
            for value in self._ids[index]:
                automaton.add_word(f'"{name}":{orjson.dumps(value).decode()}', index)
        for task_id in self._ids[1]:  # the end of a window id: the window its task opened
            automaton.add_word(f"|{orjson.dumps(task_id).decode()[1:]}", 1)
        automaton.make_automaton()
        self._automaton = automaton
        return automaton

    def keep(self, message: bytes) -> bytes:
        """`message` without the rows of deleted users, tasks and windows (b'' when none is left)."""
        if not self._ids[0]:
            return message
        automaton = self._automaton or self._search()
        text = message.decode("utf-8", "replace")
        if next(automaton.iter(text), None) is None:
            return message
        kept = [line for line in message.split(b"\n") if line.strip() and not self._deleted(orjson.loads(line))]
        return b"\n".join(kept)

    def _deleted(self, row: dict) -> bool:
        if any(row.get(name) in self._ids[index] for name, index in _FIELDS):
            return True
        window = row.get("window_id")
        return isinstance(window, str) and "|" in window and window.rsplit("|", 1)[1] in self._ids[1]
