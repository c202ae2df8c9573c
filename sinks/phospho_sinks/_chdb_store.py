"""The chDB backend: ClickHouse's engine in this process, data in a directory.

chDB runs one engine per process and any number of connections to it, each with its own
session settings. Writes and unrestricted queries use one connection; a query with settings
runs on a connection opened with those settings (readonly=1 among them stays on for every
statement of that connection: a query cannot change it back). A connection whose statement
failed is replaced: chDB 4.4 hands the next query on it the failed query's result.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlencode

from ._errors import StoreError, clickhouse_message
from .backend import QueryResult, Settings

__all__ = ["ChdbStore"]


class _Connection:
    """One chDB connection, one statement at a time, reopened after a failed statement."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._conn = self._open()

    def _open(self) -> Any:
        import chdb

        try:
            return chdb.connect(self.target)
        except Exception as exc:
            raise StoreError(f"cannot open chDB at {self.target}: {clickhouse_message(exc)}") from exc

    def run(self, sql: str, fmt: str, params: dict[str, Any] | None) -> Any:
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            try:
                return self._conn.query(sql, fmt, params=params or None)
            except Exception as exc:
                self._replace()
                raise StoreError(clickhouse_message(exc)) from exc

    def _replace(self) -> None:
        """A new connection for the next statement (opened first: closing the process's last
        connection would stop the engine)."""
        stale = self._conn
        try:
            self._conn = self._open()
        except StoreError:
            self._conn = None  # opened again by the next statement
        stale.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _target(path: str, settings: Settings) -> str:
    """The connection string: the path and the settings (chDB applies them as the connection's
    session settings; `database` becomes its current database)."""
    ordered = sorted(settings.items(), key=lambda item: item[0] == "readonly")  # readonly last
    return f"{path}?{urlencode([(k, str(v)) for k, v in ordered])}"


class ChdbStore:
    def __init__(self, path: str) -> None:
        self.dsn = f"chdb://{path}"
        self.path = path
        self.closed = False
        self._main = _Connection(path)
        self._with_settings: dict[str, _Connection] = {}
        self._lock = threading.Lock()

    def _connection(self, settings: Settings | None) -> _Connection:
        if self.closed:
            raise StoreError(f"the chDB store at {self.path} is closed")
        if not settings:
            return self._main
        target = _target(self.path, settings)
        with self._lock:
            conn = self._with_settings.get(target)
            if conn is None:
                conn = self._with_settings[target] = _Connection(target)
            return conn

    def query(self, sql: str, params: dict[str, Any] | None = None, settings: Settings | None = None) -> QueryResult:
        text = self._connection(settings).run(sql, "JSONCompact", params).bytes()
        if not text.strip():
            return QueryResult([], [])
        payload = json.loads(text)
        return QueryResult([c["name"] for c in payload["meta"]], [tuple(row) for row in payload["data"]])

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._main.run(sql, "CSV", params)

    def insert_json(self, table: str, body: bytes) -> None:
        if body.strip():
            self._main.run(f"INSERT INTO {table} FORMAT JSONEachRow\n{body.decode('utf-8', 'replace')}", "CSV", None)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with self._lock:
                others, self._with_settings = list(self._with_settings.values()), {}
            for conn in others:
                conn.close()
            self._main.close()  # the last connection: the engine stops
