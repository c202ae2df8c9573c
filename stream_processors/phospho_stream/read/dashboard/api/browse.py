"""The browsing endpoints: tasks, a task, sessions, a session, users, a user, the filter choices."""

from __future__ import annotations

import json
from typing import Any

from .. import queries as Q
from ..params import filters, paging, required, sort_key
from .base import Args, NotFound, Read, dicts, one, page

__all__ = ["tasks", "task", "sessions", "session", "users", "user", "facets", "TRANSCRIPT_LIMIT"]

TRANSCRIPT_LIMIT = 500


def tasks(read: Read, args: Args) -> dict[str, Any]:
    active, params = filters(args, Q.TASK_FILTERS)
    return page(read, args, Q.compose(Q.TASKS_PAGE, Q.TASK_FILTERS, active),
                Q.compose(Q.TASKS_COUNT, Q.TASK_FILTERS, active), Q.TASK_ROWS, "task_id", params)


def task(read: Read, args: Args) -> dict[str, Any]:
    """A task, its steps in order, its detections, and its topic when the evaluation stage made
    topics."""
    task_id = required(args, "id")
    row = one(read(Q.TASK, {"task_id": task_id}), "task")
    topics = dicts(read(Q.TASK_TOPIC, {"task_id": task_id}))
    return {"task": row, "spans": dicts(read(Q.TASK_SPANS, {"task_id": task_id})),
            "detections": dicts(read(Q.TASK_EVENTS, {"task_id": task_id})), "topic": topics[0] if topics else None}


def sessions(read: Read, args: Args) -> dict[str, Any]:
    active, params = filters(args, Q.SESSION_FILTERS)
    order, descending = sort_key(args, Q.SESSION_ORDERS, "start")
    page_sql = Q.compose(Q.SESSIONS_PAGE, Q.SESSION_FILTERS, active, Q.SESSION_ORDERS, order, descending)
    return page(read, args, page_sql, Q.compose(Q.SESSIONS_COUNT, Q.SESSION_FILTERS, active),
                Q.SESSION_ROWS, "window_id", params)


def session(read: Read, args: Args) -> dict[str, Any]:
    """A session window and its whole transcript (up to TRANSCRIPT_LIMIT tasks), each task with
    its steps."""
    window_id = required(args, "id")
    row = one(read(Q.SESSION, {"window_id": window_id}), "session")
    transcript = dicts(read(Q.SESSION_TASKS, {"window_id": window_id, "limit": TRANSCRIPT_LIMIT}))
    steps: dict[str, list[dict[str, Any]]] = {t["task_id"]: [] for t in transcript}
    with_spans = [t["task_id"] for t in transcript if t["span_count"]]
    if with_spans:
        for span in dicts(read(Q.SPANS_OF_TASKS, {"ids": json.dumps(with_spans)})):
            steps[span["task_id"]].append(span)
    for t in transcript:
        t["spans"] = steps[t["task_id"]]
    return {"session": row, "tasks": transcript, "truncated": row["task_count"] > len(transcript)}


def users(read: Read, args: Args) -> dict[str, Any]:
    """Users with their figures over their session windows in the filters (date range, project)."""
    active, params = filters(args, Q.USER_FILTERS)
    order, descending = sort_key(args, Q.USER_ORDERS, "tasks")
    number, size, window = paging(args)
    sql = Q.compose(Q.USERS_PAGE, Q.USER_FILTERS, active, Q.USER_ORDERS, order, descending)
    rows = dicts(read(sql, {**params, **window}))
    if rows:
        total = rows[0]["total"]
    else:
        total = read(Q.compose(Q.USERS_COUNT, Q.USER_FILTERS, active), params).rows[0][0] if window["offset"] else 0
    for row in rows:
        del row["total"]
    return {"total": total, "page": number, "size": size, "rows": rows, "sort": order,
            "dir": "desc" if descending else "asc"}


def user(read: Read, args: Args) -> dict[str, Any]:
    """A user's figures over their session windows in the date range and project."""
    scope = Q.scoped(Q.USER_FILTERS)
    active, params = filters(args, scope)
    sql = Q.compose(Q.USER, Q.USER_FILTERS, [*active, "user"])
    found = dicts(read(sql, {**params, "user": required(args, "id")}))
    if not found:
        raise NotFound("no such user" + (" in these dates and project" if active else ""))
    return {"user": found[0]}


def facets(read: Read, args: Args) -> dict[str, Any]:
    """The filters' choices: versions, models and projects (most recent first), languages (most
    tasks first), the events detected (most detections first)."""
    rows = read(Q.FACETS, None).rows
    kinds: dict[str, list[str]] = {"version": [], "model": [], "project": [], "language": []}
    for kind, value, *_ in rows:
        kinds[kind].append(value)
    events = [r[0] for r in read(Q.EVENT_NAMES, None).rows]
    return {"versions": kinds["version"], "models": kinds["model"], "projects": kinds["project"],
            "languages": kinds["language"], "events": events}
