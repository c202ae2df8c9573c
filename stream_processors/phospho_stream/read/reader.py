"""A `Reader`: one locked read, (sql, bound params, tuning settings) -> its result.

Whoever runs it: a store in this process, or a running `up` through its endpoint."""

from __future__ import annotations

from typing import Any, Protocol

from phospho_sinks import QueryLimits, QueryResult, Settings, Store, read_only_query

from ..settings import ReadSettings

__all__ = ["Reader", "store_reader", "limits_of"]


class Reader(Protocol):
    def __call__(self, sql: str, params: dict[str, Any] | None = None,
                 tuning: Settings | None = None) -> QueryResult: ...


def limits_of(settings: ReadSettings) -> QueryLimits:
    return QueryLimits(settings.timeout_seconds, settings.max_rows, settings.max_bytes)


def store_reader(store: Store, limits: QueryLimits | None = None) -> Reader:
    """Locked reads on an open store (the parser's check, then readonly=1 and the limits)."""

    def read(sql: str, params: dict[str, Any] | None = None, tuning: Settings | None = None) -> QueryResult:
        return read_only_query(store, sql, params, limits, tuning)

    return read
