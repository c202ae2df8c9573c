"""Batches of rows for the store, in the spirit of quix-streams' sink contract: `add` rows,
`due` says when a batch is full (rows) or old enough (seconds), `flush` writes it. A failed
flush keeps the batch for the next attempt: nothing is dropped. Rows are idempotent
(ReplacingMergeTree), so writing a batch twice after a partial failure is harmless."""

from __future__ import annotations

import time
from typing import Any

from .store import Store

__all__ = ["BatchWriter"]


class BatchWriter:
    def __init__(self, store: Store, max_rows: int = 10_000, max_seconds: float = 1.0) -> None:
        self.store = store
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self._batch: dict[str, list[dict[str, Any]]] = {}
        self._count = 0
        self._opened_at: float | None = None
        self.rows_written = 0

    def __len__(self) -> int:
        return self._count

    def add(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._opened_at is None:
            self._opened_at = time.monotonic()
        self._batch.setdefault(table, []).extend(rows)
        self._count += len(rows)

    def due(self) -> bool:
        if self._count >= self.max_rows:
            return True
        return self._opened_at is not None and time.monotonic() - self._opened_at >= self.max_seconds

    def write(self, batch: dict[str, list[dict[str, Any]]]) -> int:
        """Insert every table's rows (raises StoreError; tables already written stay written)."""
        written = 0
        for table, rows in batch.items():
            written += self.store.insert_json_rows(table, rows)
        return written

    def flush(self) -> int:
        """Write the pending batch; on StoreError the batch stays pending and the error rises."""
        if not self._count:
            return 0
        written = self.write(self._batch)
        self.rows_written += written
        self.clear()
        return written

    def clear(self) -> None:
        self._batch, self._count, self._opened_at = {}, 0, None
