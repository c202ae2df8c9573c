"""The dashboard's JSON API: one function per endpoint, each (read, query-string args) -> a
JSON-ready dict; and the CSV exports. `read(sql, params)` runs one locked read (`with_tuning`
gives each statement its settings); every statement comes from queries/, every value is bound."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..params import BadRequest
from .base import Args, NotFound, Read, with_tuning
from .browse import facets, session, sessions, task, tasks, user, users
from .events import event, events
from .exports import EXPORT_LIMIT, EXPORTS
from .insights import (
    insights_endings,
    insights_sessions,
    insights_tasks,
    insights_topics,
    insights_users,
)

__all__ = ["Read", "NotFound", "BadRequest", "ROUTES", "EXPORTS", "EXPORT_LIMIT", "with_tuning"]

#: GET /api/<name> -> its function
ROUTES: dict[str, Callable[[Read, Args], dict[str, Any]]] = {
    "tasks": tasks, "task": task, "sessions": sessions, "session": session, "users": users, "user": user,
    "facets": facets, "events": events, "event": event,
    "insights/tasks": insights_tasks, "insights/sessions": insights_sessions, "insights/endings": insights_endings,
    "insights/users": insights_users, "insights/topics": insights_topics,
}
