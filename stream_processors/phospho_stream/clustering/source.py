"""Where a topics run reads the task inputs: one locked read through the read side (the running
`up` that holds the store, else the store itself), or any reader it is given (`up` passes its own)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..read import Reader, open_source
from ..settings import ReadSettings

__all__ = ["Reader", "TaskInput", "open_reader", "read_task_inputs", "INPUTS_SQL"]

INPUTS_SQL = """SELECT task_id, input, toUnixTimestamp64Milli(created_at) AS at_ms FROM phospho.tasks
WHERE created_at >= fromUnixTimestamp64Milli({since_ms:Int64}) AND length(trimBoth(input)) > 0
ORDER BY created_at DESC, task_id LIMIT {limit:UInt32}"""


@dataclass(frozen=True, slots=True)
class TaskInput:
    task_id: str
    input: str
    created_at_ms: int


def open_reader(settings: ReadSettings) -> tuple[Reader, Callable[[], None]]:
    """A reader where the read commands read (NothingToRead when there is nothing), and how to
    let it go."""
    source = open_source(settings)
    return source.read, source.close


def read_task_inputs(read: Reader, since_ms: int, limit: int) -> list[TaskInput]:
    """The latest `limit` tasks created since `since_ms` that have an input, oldest first."""
    rows = read(INPUTS_SQL, {"since_ms": since_ms, "limit": limit}).rows
    return sorted((TaskInput(str(t), str(i), int(at)) for t, i, at in rows), key=lambda r: (r.created_at_ms, r.task_id))
