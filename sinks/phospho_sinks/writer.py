"""Batches of row messages for the store, in the spirit of quix-streams' sink contract: `add`
messages, `due` says when a batch is full (rows) or old enough (seconds), `flush` writes it.

A message is JSONEachRow bytes from a stage (phospho_schemas.rows): the writer joins a table's
messages into one INSERT, with no per-row work. If a write fails while the store answers, the
batch holds bad data: the writer splits it until it finds the messages the store refuses, writes
the rest, and hands those back (`Rejected`) to be dead-lettered. If the store does not answer,
the batch stays pending and StoreError rises: nothing is dropped. Rows are idempotent, so
writing part of a batch twice after a failure is harmless.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from ._errors import StoreError
from .store import Store

__all__ = ["BatchWriter", "Rejected"]


class Rejected(NamedTuple):
    """A message the store refused, with the store's reason and what the message is."""

    table: str
    message: bytes
    reason: str
    source: Any


class BatchWriter:
    def __init__(self, store: Store, max_rows: int = 20_000, max_seconds: float = 0.2) -> None:
        self.store = store
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self._batch: dict[str, list[tuple[bytes, Any]]] = {}
        self._count = 0
        self._opened_at: float | None = None
        self.rows_written = 0

    def __len__(self) -> int:
        return self._count

    def add(self, table: str, message: bytes, source: Any = None) -> None:
        """A message of rows for `table` (`source`: what to say of it if the store refuses it)."""
        if not message.strip():
            return
        if self._opened_at is None:
            self._opened_at = time.monotonic()
        self._batch.setdefault(table, []).append((message, source))
        self._count += message.count(b"\n") + 1

    def due(self) -> bool:
        if self._count >= self.max_rows:
            return True
        return self._opened_at is not None and time.monotonic() - self._opened_at >= self.max_seconds

    def flush(self) -> tuple[int, list[Rejected]]:
        """Write the pending batch: (rows written, messages refused). On StoreError (the store
        does not answer) the batch stays pending and the error rises."""
        if not self._count:
            return 0, []
        rejected: list[Rejected] = []
        for table, messages in list(self._batch.items()):
            try:
                self._insert(table, messages)
            except StoreError as exc:
                if not self._store_answers():
                    raise
                rejected += self._bisect(table, messages, str(exc))
            del self._batch[table]
        written = self._count - sum(r.message.count(b"\n") + 1 for r in rejected)
        self.rows_written += written
        self.clear()
        return written, rejected

    def _insert(self, table: str, messages: list[tuple[bytes, Any]]) -> None:
        self.store.insert_json(table, b"\n".join(m for m, _ in messages))

    def _store_answers(self) -> bool:
        try:
            self.store.query("SELECT 1")
            return True
        except StoreError:
            return False

    def _bisect(self, table: str, messages: list[tuple[bytes, Any]], reason: str) -> list[Rejected]:
        """Write what the store takes of `messages`; return the messages it refuses."""
        if len(messages) == 1:
            return [Rejected(table, messages[0][0], reason, messages[0][1])]
        half = len(messages) // 2
        refused = []
        for part in (messages[:half], messages[half:]):
            try:
                self._insert(table, part)
            except StoreError as exc:
                if not self._store_answers():
                    raise
                refused += self._bisect(table, part, str(exc))
        return refused

    def clear(self) -> None:
        self._batch, self._count, self._opened_at = {}, 0, None
