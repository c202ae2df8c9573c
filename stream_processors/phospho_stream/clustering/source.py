"""Where a topics run reads the task inputs: one read-only query on the store.

The one place to switch to the read side (`read.source.open_source`, which also asks a running
`up` that holds a chDB directory) when it lands; until then, the store itself through
phospho_sinks.connect and its read-only path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phospho_sinks import QueryResult, connect, read_only_query

__all__ = ["Reader", "TaskInput", "open_reader", "read_task_inputs", "INPUTS_SQL"]

#: one read-only statement: (sql, params) -> rows
Reader = Callable[[str, "dict[str, Any] | None"], QueryResult]

INPUTS_SQL = """SELECT task_id, input, toUnixTimestamp64Milli(created_at) AS at_ms FROM phospho.tasks
WHERE created_at >= fromUnixTimestamp64Milli({since_ms:Int64}) AND length(trimBoth(input)) > 0
ORDER BY created_at DESC, task_id LIMIT {limit:UInt32}"""


@dataclass(frozen=True, slots=True)
class TaskInput:
    task_id: str
    input: str
    created_at_ms: int


def open_reader(dsn: str | None) -> tuple[Reader, Callable[[], None]]:
    """A reader on the store of `dsn` (default: PHOSPHO_CLICKHOUSE_DSN, else chDB in the data
    directory), and how to close it."""
    store = connect(dsn)
    return (lambda sql, params=None: read_only_query(store, sql, params)), store.close


def read_task_inputs(read: Reader, since_ms: int, limit: int) -> list[TaskInput]:
    """The latest `limit` tasks created since `since_ms` that have an input, oldest first."""
    rows = read(INPUTS_SQL, {"since_ms": since_ms, "limit": limit}).rows
    return sorted((TaskInput(str(t), str(i), int(at)) for t, i, at in rows), key=lambda r: (r.created_at_ms, r.task_id))
