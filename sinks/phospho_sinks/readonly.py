"""The locked query path: the parser's check, then ClickHouse's readonly=1 and limits.

Used by `phospho-stream query`, insights, the dashboard and up's query endpoint; locked twice: the parser's check (statements.py), then ClickHouse itself running the query with
readonly=1 (so no setting can be changed back), the `phospho` database as the current one,
a time limit and result-size limits (an overflow is an error, never a cut result). Outer joins
read as in standard SQL (join_use_nulls=1: an unmatched side is NULL), since a query cannot
set it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import ReadOnlyError
from .backend import QueryResult, Settings, Store
from .statements import DATABASE, check_read_only

__all__ = ["QueryLimits", "TUNING_SETTINGS", "read_only_query", "locked_settings"]

#: the settings a caller may add to a read (from code, never from the SQL): they change how
#: fast a query runs, never what it may read or write
TUNING_SETTINGS = frozenset({"optimize_move_to_prewhere_if_final"})


@dataclass(frozen=True)
class QueryLimits:
    """Per query: seconds of execution, rows and bytes of the result."""

    timeout_seconds: float = 60.0
    max_rows: int = 1_000_000
    max_bytes: int = 512 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0 or self.max_rows < 1 or self.max_bytes < 1:
            raise ValueError(f"query limits must be positive: {self}")


def locked_settings(limits: QueryLimits, tuning: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings of a locked read: `tuning` (TUNING_SETTINGS only), standard outer joins, the
    limits, the database, and readonly=1 last."""
    unknown = sorted(set(tuning or {}) - TUNING_SETTINGS)
    if unknown:
        raise ReadOnlyError(f"refused: the setting {', '.join(unknown)}: the read path's settings and limits are fixed")
    return {**(tuning or {}), "join_use_nulls": 1, "max_execution_time": limits.timeout_seconds,
            "max_result_rows": limits.max_rows, "max_result_bytes": limits.max_bytes, "result_overflow_mode": "throw",
            "database": DATABASE, "readonly": 1}


def read_only_query(store: Store, sql: str, params: dict[str, Any] | None = None,
                    limits: QueryLimits | None = None, tuning: Settings | None = None) -> QueryResult:
    """One SELECT over the phospho database, checked by the parser, run by ClickHouse with
    readonly=1 and the limits; ReadOnlyError when refused, StoreError with ClickHouse's message
    when ClickHouse fails it."""
    check_read_only(sql)
    return store.query(sql, params, locked_settings(limits or QueryLimits(), tuning))
