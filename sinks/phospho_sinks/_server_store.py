"""The ClickHouse server backend, through clickhouse-connect (HTTP).

Per-query settings travel as the request's parameters, applied before the query is parsed: with readonly=1 among them,
the query's own SETTINGS cannot change anything back."""

from __future__ import annotations

import threading
from typing import Any

from ._errors import StoreError, clickhouse_message
from .backend import QueryResult, Settings

__all__ = ["ServerStore"]


class ServerStore:
    def __init__(self, dsn: str) -> None:
        import clickhouse_connect

        self.dsn = dsn
        self.closed = False
        self._lock = threading.Lock()  # one statement at a time: the client's HTTP session is one
        try:
            self._client = clickhouse_connect.get_client(dsn=dsn.replace("clickhouses://", "https://", 1))
        except Exception as exc:
            raise StoreError(f"cannot connect to ClickHouse at {dsn.split('@')[-1]}: {clickhouse_message(exc)}") from exc

    def query(self, sql: str, params: dict[str, Any] | None = None, settings: Settings | None = None) -> QueryResult:
        try:
            with self._lock:
                result = self._client.query(sql, parameters=params or None, settings=dict(settings or {}) or None)
        except Exception as exc:
            raise StoreError(clickhouse_message(exc)) from exc
        return QueryResult(list(result.column_names), [tuple(row) for row in result.result_rows])

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        try:
            with self._lock:
                self._client.command(sql, parameters=params or None)
        except Exception as exc:
            raise StoreError(clickhouse_message(exc)) from exc

    def insert_json(self, table: str, body: bytes) -> None:
        if not body.strip():
            return
        try:
            with self._lock:
                self._client.raw_insert(table, insert_block=body, fmt="JSONEachRow")
        except Exception as exc:
            raise StoreError(clickhouse_message(exc)) from exc

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._client.close()
