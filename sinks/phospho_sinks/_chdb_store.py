"""The chDB backend: ClickHouse's engine in this process, data in a directory."""

from __future__ import annotations

import json
import threading
from typing import Any

from ._errors import StoreError

__all__ = ["ChdbStore"]


class ChdbStore:
    def __init__(self, path: str) -> None:
        from chdb import session

        self.dsn = f"chdb://{path}"
        self.path = path
        self._lock = threading.Lock()  # one statement at a time on the session
        try:
            self._session = session.Session(path)
        except Exception as exc:
            raise StoreError(f"cannot open chDB at {path}: {exc}") from exc
        self.closed = False

    def _run(self, sql: str, fmt: str, params: dict[str, Any] | None) -> Any:
        if self.closed:
            raise StoreError(f"the chDB store at {self.path} is closed")
        with self._lock:
            try:
                return self._session.query(sql, fmt, params=params or None)
            except Exception as exc:
                raise StoreError(str(exc).strip()) from exc

    def query(self, sql: str, params: dict[str, Any] | None = None):
        from .store import QueryResult

        text = self._run(sql, "JSONCompact", params).bytes()
        if not text.strip():
            return QueryResult([], [])
        payload = json.loads(text)
        return QueryResult([c["name"] for c in payload["meta"]], [tuple(row) for row in payload["data"]])

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._run(sql, "CSV", params)

    def insert_json(self, table: str, body: bytes) -> None:
        if body.strip():
            self._run(f"INSERT INTO {table} FORMAT JSONEachRow\n{body.decode('utf-8', 'replace')}", "CSV", None)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._session.close()
