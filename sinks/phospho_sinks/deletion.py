"""Deleting one user's data from a store (an erasure request), with its tombstone and audit row.

A user's rows: their tasks (by user_id), what hangs on those tasks (spans, feedback, events,
evaluations, topic assignments) or carries their user_id, and every session window holding one
of their tasks, opened by one (retracted windows too: a window's id names its first task) or
ended by them. `count_user_rows` counts them through the analysts' views, so
it runs on any reader (the locked read path for a dry run, or the store); `delete_user` writes
the tombstone (phospho_store.deleted_users: the id, the tasks and the windows, which the sink
keeps out of the store from then on), deletes the rows (ALTER TABLE ... DELETE, synchronous:
the parts holding them are rewritten without them), and records the audit row
(phospho_store.deletions: who asked, when, how many rows of each table; never their content).
"""

from __future__ import annotations

import getpass
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from phospho_schemas.rows import STORE_DATABASE

from .backend import QueryResult, Store

__all__ = ["USER_TABLES", "DeletionRequest", "count_user_rows", "delete_user", "audit_of"]

#: the tables holding a user's rows, in the order the counts are shown
USER_TABLES: tuple[str, ...] = ("tasks", "spans", "feedback", "events", "evaluations", "sessions", "task_topics")

_THEIR_TASKS = "SELECT task_id FROM phospho.tasks WHERE user_id = {user:String}"
#: a window's id is its session key, '|', and the id of the task that opened it
_FIRST_TASK = "arrayElement(splitByChar('|', window_id), -1)"
_COUNTS = " UNION ALL ".join(f"SELECT '{table}' AS t, count() AS n FROM phospho.{table} WHERE {where}" for table, where in (
    ("tasks", "user_id = {user:String}"),
    ("spans", f"user_id = {{user:String}} OR task_id IN ({_THEIR_TASKS})"),
    ("feedback", f"user_id = {{user:String}} OR task_id IN ({_THEIR_TASKS})"),
    ("events", f"user_id = {{user:String}} OR task_id IN ({_THEIR_TASKS})"),
    ("evaluations", f"source = 'llm' AND (user_id = {{user:String}} OR task_id IN ({_THEIR_TASKS}))"),
    ("sessions", "user_id = {user:String} OR window_id IN (SELECT session_window_id FROM phospho.tasks WHERE "
                 f"user_id = {{user:String}}) OR {_FIRST_TASK} IN ({_THEIR_TASKS})"),
    ("task_topics", f"task_id IN ({_THEIR_TASKS})"),
))

_TOMBSTONE = f"""INSERT INTO {STORE_DATABASE}.deleted_users (user_id, request_id, deleted_at, task_ids, window_ids)
    SELECT {{user:String}}, {{request:String}}, now64(3), groupArray(task_id),
        arrayDistinct(arrayConcat(arrayFilter(w -> w != '', groupArray(ifNull(window_id, ''))),
            (SELECT groupArray(window_id) FROM {STORE_DATABASE}.sessions WHERE user_id = {{user:String}})))
    FROM {STORE_DATABASE}.tasks FINAL WHERE user_id = {{user:String}}"""
_IN_TOMBSTONE = f"(SELECT arrayJoin({{column}}) FROM {STORE_DATABASE}.deleted_users WHERE request_id = {{{{request:String}}}})"
_TASKS_IN = _IN_TOMBSTONE.format(column="task_ids")
_WINDOWS_IN = _IN_TOMBSTONE.format(column="window_ids")
_BY_TABLE = {
    "tasks": f"task_id IN {_TASKS_IN}",
    "spans": f"user_id = {{user:String}} OR task_id IN {_TASKS_IN}",
    "feedback": f"user_id = {{user:String}} OR task_id IN {_TASKS_IN}",
    "events": f"user_id = {{user:String}} OR task_id IN {_TASKS_IN}",
    "evaluations": f"user_id = {{user:String}} OR task_id IN {_TASKS_IN}",
    "sessions": f"user_id = {{user:String}} OR window_id IN {_WINDOWS_IN} OR {_FIRST_TASK} IN {_TASKS_IN}",
    "task_topics": f"task_id IN {_TASKS_IN}",
}
_AUDIT = f"""INSERT INTO {STORE_DATABASE}.deletions (request_id, user_id, requested_by, requested_at, executed_at, counts)
    VALUES ({{request:String}}, {{user:String}}, {{by:String}}, fromUnixTimestamp64Milli({{at:Int64}}, 'UTC'), now64(3),
        JSONExtract({{counts:String}}, 'Map(String, UInt64)'))"""
_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def _requester() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


@dataclass(frozen=True)
class DeletionRequest:
    """Who asked to delete which user, and when: the message of the control topic
    (`Topics.deletions`, keyed by user_id) and the audit row's first columns."""

    user_id: str
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    requested_by: str = field(default_factory=_requester)
    requested_at_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def __post_init__(self) -> None:
        if not isinstance(self.user_id, str) or not self.user_id:
            raise ValueError("a deletion needs a user id")
        if not _REQUEST_ID.fullmatch(self.request_id):
            raise ValueError(f"a request id is 32 hex characters, not {self.request_id!r}")

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, value: bytes) -> DeletionRequest:
        """A request read from the control topic; ValueError when it is not one."""
        try:
            data = orjson.loads(value)
            return cls(str(data["user_id"]), str(data["request_id"]), str(data["requested_by"]),
                       int(data["requested_at_ms"]))
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"not a deletion request: {type(exc).__name__}: {exc}") from None


def count_user_rows(read: Callable[..., QueryResult], user_id: str) -> dict[str, int]:
    """Rows of each table that belong to `user_id`, as the views show them. `read(sql, params)`:
    a locked reader (the dry run) or a store's query."""
    found = dict(read(_COUNTS, {"user": user_id}).rows)
    return {table: int(found.get(table, 0)) for table in USER_TABLES}


def delete_user(store: Store, request: DeletionRequest) -> dict[str, int]:
    """Delete the user's rows from every table, keep their tombstone, write the audit row;
    returns the rows removed per table. Running it again removes nothing more."""
    counts = count_user_rows(store.query, request.user_id)
    params = {"user": request.user_id, "request": request.request_id}
    store.command(_TOMBSTONE, params)
    for table in USER_TABLES:
        store.command(f"ALTER TABLE {STORE_DATABASE}.{table} DELETE WHERE {_BY_TABLE[table]} "
                      "SETTINGS mutations_sync = 2", params)
    store.command(_AUDIT, {**params, "by": request.requested_by, "at": request.requested_at_ms,
                           "counts": orjson.dumps(counts).decode()})
    return counts


def audit_of(read: Callable[..., QueryResult], request_id: str) -> dict[str, Any] | None:
    """The audit row of a request (phospho.deletions), or None while it has not run."""
    rows = read("SELECT request_id, user_id, requested_by, requested_at, executed_at, counts, rows_removed "
                "FROM phospho.deletions WHERE request_id = {request:String}", {"request": request_id}).dicts()
    return rows[0] if rows else None
