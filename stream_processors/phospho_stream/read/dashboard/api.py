"""The dashboard's JSON API: one function per endpoint, each (read, query-string args) -> a
JSON-ready dict. `read(sql, params)` runs one locked read (`with_tuning` gives each statement
its settings); every statement comes from queries.py, every value is bound."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from phospho_sinks import QueryResult

from ..reader import Reader
from . import queries as Q
from .params import BadRequest, filters, paging, required, sort_key

__all__ = ["Read", "NotFound", "BadRequest", "ROUTES", "with_tuning"]

Read = Callable[[str, "dict[str, Any] | None"], QueryResult]
Args = Mapping[str, str]
TRANSCRIPT_LIMIT = 500


class NotFound(LookupError):
    """No such task, session or user (HTTP 404)."""


def with_tuning(read: Reader) -> Read:
    """`read` with each statement's settings from queries.py."""
    return lambda sql, params=None: read(sql, params, Q.tuning(sql))


def _clean(value: Any) -> Any:
    """NaN and infinities (avg of nothing) are not JSON: null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _dicts(result: QueryResult) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in result.dicts()]


def _one(result: QueryResult, what: str) -> dict[str, Any]:
    rows = _dicts(result)
    if not rows:
        raise NotFound(f"no such {what}")
    return rows[0]


def _page(read: Read, args: Args, page_sql: str, count_sql: str, rows_sql: str, key: str,
          params: dict[str, Any]) -> dict[str, Any]:
    """One page: the ids and the matching total in one scan, then those rows by id, in order."""
    page, size, window = paging(args)
    found = read(page_sql, {**params, **window}).rows
    ids = [row[0] for row in found]
    if found:
        total = found[0][1]
    else:  # past the end, or nothing matches
        total = read(count_sql, params).rows[0][0] if window["offset"] else 0
    by_id = {row[key]: row for row in _dicts(read(rows_sql, {"ids": json.dumps(ids)}))} if ids else {}
    return {"total": total, "page": page, "size": size, "rows": [by_id[i] for i in ids if i in by_id]}


def tasks(read: Read, args: Args) -> dict[str, Any]:
    active, params = filters(args, Q.TASK_FILTERS)
    return _page(read, args, Q.compose(Q.TASKS_PAGE, Q.TASK_FILTERS, active),
                 Q.compose(Q.TASKS_COUNT, Q.TASK_FILTERS, active), Q.TASK_ROWS, "task_id", params)


def task(read: Read, args: Args) -> dict[str, Any]:
    task_id = required(args, "id")
    row = _one(read(Q.TASK, {"task_id": task_id}), "task")
    return {"task": row, "spans": _dicts(read(Q.TASK_SPANS, {"task_id": task_id}))}


def sessions(read: Read, args: Args) -> dict[str, Any]:
    active, params = filters(args, Q.SESSION_FILTERS)
    order, descending = sort_key(args, Q.SESSION_ORDERS, "start")
    page_sql = Q.compose(Q.SESSIONS_PAGE, Q.SESSION_FILTERS, active, Q.SESSION_ORDERS, order, descending)
    return _page(read, args, page_sql, Q.compose(Q.SESSIONS_COUNT, Q.SESSION_FILTERS, active),
                 Q.SESSION_ROWS, "window_id", params)


def session(read: Read, args: Args) -> dict[str, Any]:
    """A session window and its whole transcript (up to TRANSCRIPT_LIMIT tasks), each task with
    its steps."""
    window_id = required(args, "id")
    row = _one(read(Q.SESSION, {"window_id": window_id}), "session")
    transcript = _dicts(read(Q.SESSION_TASKS, {"window_id": window_id, "limit": TRANSCRIPT_LIMIT}))
    steps: dict[str, list[dict[str, Any]]] = {t["task_id"]: [] for t in transcript}
    with_spans = [t["task_id"] for t in transcript if t["span_count"]]
    if with_spans:
        for span in _dicts(read(Q.SPANS_OF_TASKS, {"ids": json.dumps(with_spans)})):
            steps[span["task_id"]].append(span)
    for t in transcript:
        t["spans"] = steps[t["task_id"]]
    return {"session": row, "tasks": transcript, "truncated": row["task_count"] > len(transcript)}


def users(read: Read, args: Args) -> dict[str, Any]:
    active, params = filters(args, Q.USER_FILTERS)
    order, descending = sort_key(args, Q.USER_ORDERS, "tasks")
    page, size, window = paging(args)
    sql = Q.compose(Q.USERS_PAGE, Q.USER_FILTERS, active, Q.USER_ORDERS, order, descending)
    rows = _dicts(read(sql, {**params, **window}))
    if rows:
        total = rows[0]["total"]
    else:
        total = read(Q.compose(Q.USERS_COUNT, Q.USER_FILTERS, active), params).rows[0][0] if window["offset"] else 0
    for row in rows:
        del row["total"]
    return {"total": total, "page": page, "size": size, "rows": rows, "sort": order,
            "dir": "desc" if descending else "asc"}


def user(read: Read, args: Args) -> dict[str, Any]:
    return {"user": _one(read(Q.USER, {"user": required(args, "id")}), "user")}


def facets(read: Read, args: Args) -> dict[str, Any]:
    rows = read(Q.FACETS, None).rows
    return {"versions": [r[1] for r in rows if r[0] == 1], "models": [r[1] for r in rows if r[0] == 2]}


def insights_tasks(read: Read, args: Args) -> dict[str, Any]:
    """Tasks, feedback and tokens per day; tasks and tokens per model (the 50 with most tokens)."""
    rows = _dicts(read(Q.TASK_INSIGHTS, None))
    days = [{k: r[k] for k in ("day", "tasks", "success", "failure")} | {"tokens": r["total_tokens"] + r["span_tokens"]}
            for r in rows if r["kind"] == 1]
    models = [{k: v for k, v in r.items() if k not in ("kind", "day")} for r in rows if r["kind"] == 2][:50]
    return {"days": days, "models": models}


def _pairs(summed: Any) -> list[list[Any]]:
    """sumMap's ([keys], [values]) as [[key, value], ...]."""
    keys, values = summed
    return [[k, v] for k, v in zip(keys, values, strict=True)]


def insights_sessions(read: Read, args: Args) -> dict[str, Any]:
    shape = _one(read(Q.SESSION_SHAPES, None), "session summary")
    # bucket b holds durations d with ceil(log2(d + 1)) = b: (2^(b-1) - 1, 2^b - 1] seconds, and 0 for b = 0
    buckets = [[max(0, 2 ** (b - 1) - 1), 2 ** b - 1, n] for b, n in _pairs(shape["duration_buckets"])]
    quantiles = shape["duration_quantiles"] if shape["sessions"] else [None, None, None]
    return {
        "sessions": shape["sessions"], "avg_tasks": shape["avg_tasks"], "avg_duration_s": shape["avg_duration_s"],
        "max_duration_s": shape["max_duration_s"] if shape["sessions"] else None,
        "duration_quantiles": dict(zip(("p50", "p90", "p99"), map(_clean, quantiles), strict=True)),
        "per_day": _pairs(shape["per_day"]), "lengths": _pairs(shape["lengths"]),
        "duration_buckets": buckets, "dead_letters": shape["dead_letters"],
    }


def insights_endings(read: Read, args: Args) -> dict[str, Any]:
    return {"endings": _dicts(read(Q.ENDING_MESSAGES, {"limit": 10}))}


#: GET /api/<name> -> its function
ROUTES: dict[str, Callable[[Read, Args], dict[str, Any]]] = {
    "tasks": tasks, "task": task, "sessions": sessions, "session": session, "users": users, "user": user,
    "facets": facets, "insights/tasks": insights_tasks,
    "insights/sessions": insights_sessions, "insights/endings": insights_endings,
}
