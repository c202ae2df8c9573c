"""The CSV exports: a list page's rows with the same filters and order, whole, up to
EXPORT_LIMIT rows. Each returns (a file name, the result)."""

from __future__ import annotations

from collections.abc import Callable

from phospho_sinks import QueryResult

from .. import queries as Q
from ..params import filters, sort_key
from .base import Args, Read

__all__ = ["EXPORTS", "EXPORT_LIMIT"]

EXPORT_LIMIT = 100_000


def _tasks(read: Read, args: Args) -> tuple[str, QueryResult]:
    active, params = filters(args, Q.TASK_FILTERS)
    return "tasks", read(Q.compose(Q.TASKS_EXPORT, Q.TASK_FILTERS, active), {**params, "limit": EXPORT_LIMIT})


def _sessions(read: Read, args: Args) -> tuple[str, QueryResult]:
    active, params = filters(args, Q.SESSION_FILTERS)
    order, descending = sort_key(args, Q.SESSION_ORDERS, "start")
    sql = Q.compose(Q.SESSIONS_EXPORT, Q.SESSION_FILTERS, active, Q.SESSION_ORDERS, order, descending)
    return "sessions", read(sql, {**params, "limit": EXPORT_LIMIT})


def _users(read: Read, args: Args) -> tuple[str, QueryResult]:
    active, params = filters(args, Q.USER_FILTERS)
    order, descending = sort_key(args, Q.USER_ORDERS, "tasks")
    sql = Q.compose(Q.USERS_EXPORT, Q.USER_FILTERS, active, Q.USER_ORDERS, order, descending)
    return "users", read(sql, {**params, "limit": EXPORT_LIMIT})


def _events(read: Read, args: Args) -> tuple[str, QueryResult]:
    active, params = filters(args, Q.EVENT_FILTERS)
    return "detections", read(Q.compose(Q.EVENTS_EXPORT, Q.EVENT_FILTERS, active), {**params, "limit": EXPORT_LIMIT})


#: GET /api/export/<name> -> its function
EXPORTS: dict[str, Callable[[Read, Args], tuple[str, QueryResult]]] = {
    "tasks": _tasks, "sessions": _sessions, "users": _users, "events": _events,
}
