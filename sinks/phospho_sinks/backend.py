"""The `Store` protocol every backend (chDB, a ClickHouse server) offers, and `QueryResult`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["QueryResult", "Store", "Settings"]

#: ClickHouse settings for one query, applied by the backend where the SQL cannot change them
#: (a dedicated chDB connection, a server's HTTP parameters); `database` picks the database
#: unqualified table names resolve to
Settings = Mapping[str, "int | float | str"]


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Store(Protocol):
    dsn: str

    def query(self, sql: str, params: dict[str, Any] | None = None,
              settings: Settings | None = None) -> QueryResult: ...

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None: ...

    def insert_json(self, table: str, body: bytes) -> None:
        """Insert JSONEachRow `body` (one JSON object per line) into `table`."""

    def close(self) -> None: ...
