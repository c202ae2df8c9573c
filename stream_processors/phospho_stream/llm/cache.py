"""Answers kept for identical requests (keyed by the request's content hash), the least recently
used leaving first. Each entry remembers the input partition it was made for, so that the stage
writes it to, and removes it from, that partition's state."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from .endpoint import Answer

__all__ = ["AnswerCache", "CachedAnswer"]

_FORMAT = 1


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    answer: Answer
    cost_usd: float | None
    payer: str  # the job that paid for the call: asking again (a replay) costs it the same
    at_ms: int
    partition: int

    def dumps(self) -> bytes:
        a = self.answer
        return orjson.dumps([_FORMAT, [a.text, a.top_logprobs, a.usage, a.model, self.cost_usd, self.payer,
                                       self.at_ms]])

    @classmethod
    def loads(cls, blob: bytes, partition: int) -> CachedAnswer:
        version, (text, top, usage, model, cost, payer, at_ms) = orjson.loads(blob)
        if version != _FORMAT:
            raise ValueError(f"cached answer of an unknown format {version}")
        top = tuple((str(t), float(lp)) for t, lp in top) if top else None
        return cls(Answer(text, top, usage, model), cost, payer, at_ms, partition)


class AnswerCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self.dirty: set[str] = set()
        self.evicted: list[tuple[int, str]] = []  # (partition, key) to tombstone

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> CachedAnswer | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: CachedAnswer) -> None:
        if self.capacity <= 0:
            return
        self._entries[key] = entry
        self._entries.move_to_end(key)
        self.dirty.add(key)
        while len(self._entries) > self.capacity:
            old_key, old = self._entries.popitem(last=False)
            self.dirty.discard(old_key)
            self.evicted.append((old.partition, old_key))

    def load(self, key: str, entry: CachedAnswer) -> None:
        """An entry read back from the state (not written again)."""
        self._entries[key] = entry
        while len(self._entries) > self.capacity > 0:
            old_key, old = self._entries.popitem(last=False)
            self.evicted.append((old.partition, old_key))

    def drop(self, partitions: set[int]) -> None:
        for key in [k for k, e in self._entries.items() if e.partition in partitions]:
            del self._entries[key]
            self.dirty.discard(key)
        self.evicted = [(p, k) for p, k in self.evicted if p not in partitions]

    def take_changes(self) -> tuple[list[tuple[int, str, CachedAnswer]], list[tuple[int, str]]]:
        """(entries to write, (partition, key) to forget) since the last call."""
        written = [(self._entries[k].partition, k, self._entries[k]) for k in self.dirty if k in self._entries]
        removed, self.evicted = self.evicted, []
        self.dirty.clear()
        return written, removed

    def stats(self) -> dict[str, Any]:
        return {"entries": len(self._entries), "capacity": self.capacity}
