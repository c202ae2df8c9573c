"""The ClickHouse server backend, through clickhouse-connect (HTTP)."""

from __future__ import annotations

from typing import Any

from ._errors import StoreError

__all__ = ["ServerStore"]


class ServerStore:
    def __init__(self, dsn: str) -> None:
        import clickhouse_connect

        self.dsn = dsn
        self.closed = False
        try:
            self._client = clickhouse_connect.get_client(dsn=dsn.replace("clickhouses://", "https://", 1))
        except Exception as exc:
            raise StoreError(f"cannot connect to ClickHouse at {dsn.split('@')[-1]}: {exc}") from exc

    def query(self, sql: str, params: dict[str, Any] | None = None):
        from .store import QueryResult

        try:
            result = self._client.query(sql, parameters=params or None)
        except Exception as exc:
            raise StoreError(str(exc).strip()) from exc
        return QueryResult(list(result.column_names), [tuple(row) for row in result.result_rows])

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        try:
            self._client.command(sql, parameters=params or None)
        except Exception as exc:
            raise StoreError(str(exc).strip()) from exc

    def insert_json(self, table: str, body: bytes) -> None:
        if not body.strip():
            return
        try:
            self._client.raw_insert(table, insert_block=body, fmt="JSONEachRow")
        except Exception as exc:
            raise StoreError(str(exc).strip()) from exc

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._client.close()
