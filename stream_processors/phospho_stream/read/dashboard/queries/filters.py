"""The dashboard's filters and sort keys: name -> a constant SQL fragment, and `compose`, which
puts the chosen fragments into a statement.

A request picks fragments by name; its values are bound as `{name:Type}` parameters. The date
range (`from_ms`, `to_ms`) and `project` are on every page: each list below has them, read on
the columns of its own view."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "SCOPE", "TASK_FILTERS", "SESSION_FILTERS", "USER_FILTERS", "EVENT_FILTERS",
    "SESSION_ORDERS", "USER_ORDERS", "compose", "scoped",
]

#: the filters every page takes (the page's date range and project)
SCOPE = ("from_ms", "to_ms", "project")


def _range(column: str) -> dict[str, str]:
    return {"from_ms": f"{column} >= fromUnixTimestamp64Milli({{from_ms:Int64}}, 'UTC')",
            "to_ms": f"{column} < fromUnixTimestamp64Milli({{to_ms:Int64}}, 'UTC')"}


# the views without a project column find it through their tasks (phospho.tasks by key or window)
_PROJECT_WINDOWS = "window_id IN (SELECT session_window_id FROM phospho.tasks WHERE project_id = {project:String})"
_PROJECT_TASKS = "task_id IN (SELECT task_id FROM phospho.tasks WHERE project_id = {project:String})"

TASK_FILTERS: dict[str, str] = {
    **_range("created_at"),
    "project": "project_id = {project:String}",
    "user": "user_id = {user:String}",
    "session": "(session_id = {session:String} OR session_window_id = {session:String})",
    "version": "version_id = {version:String}",
    "model": "(model = {model:String} OR has(span_models, {model:String}))",
    "flag": "ifNull(feedback_flag, 'none') = {flag:String}",
    "q": "(positionCaseInsensitiveUTF8(input, {q:String}) > 0 OR positionCaseInsensitiveUTF8(ifNull(output, ''), {q:String}) > 0)",
    # '' is a language nobody could tell: the page calls it 'unknown'
    "language": "if(language = '', 'unknown', language) = {language:String}",
    "sentiment": "ifNull(sentiment_label, 'none') = {sentiment:String}",
    # the tasks with a detection of the event (phospho.events is ordered by task_id)
    "event": "task_id IN (SELECT task_id FROM phospho.events WHERE event_name = {event:String})",
}
SESSION_FILTERS: dict[str, str] = {
    **_range("start_time"),
    "project": _PROJECT_WINDOWS,
    "user": "user_id = {user:String}",
    "q": "(positionCaseInsensitiveUTF8(first_input, {q:String}) > 0 OR positionCaseInsensitiveUTF8(last_input, {q:String}) > 0)",
    "event": "event_counts[{event:String}] > 0",
    "language": "if(language = '', 'unknown', language) = {language:String}",
}
#: users are re-aggregated from their session windows: these filter the windows
USER_FILTERS: dict[str, str] = {
    **_range("start_time"),
    "project": _PROJECT_WINDOWS,
    "user": "user_id = {user:String}",
    "q": "positionCaseInsensitiveUTF8(user_id, {q:String}) > 0",
}
EVENT_FILTERS: dict[str, str] = {
    **_range("created_at"),
    "project": _PROJECT_TASKS,
    "event": "event_name = {event:String}",
    "user": "user_id = {user:String}",
    "source": "source = {source:String}",
}

SESSION_ORDERS: dict[str, str] = {"start": "start_time", "tasks": "task_count", "duration": "duration_s",
                                  "failures": "failure_count", "tokens": "total_tokens", "cost": "cost_usd",
                                  "sentiment": "sentiment_mean"}
USER_ORDERS: dict[str, str] = {
    "tasks": "task_count", "sessions": "session_count", "avg_tasks": "avg_session_tasks",
    "avg_duration": "avg_session_duration_s", "first_seen": "first_seen_ms", "last_seen": "last_seen_ms",
    "tokens": "total_tokens", "successes": "success_count", "failures": "failure_count",
    "success_ratio": "success_ratio", "cost": "cost_usd", "sentiment": "sentiment_mean", "user": "user_id",
}


def scoped(filters: Mapping[str, str], *extra: str) -> dict[str, str]:
    """The page-wide filters of `filters` (date range, project), and `extra` ones."""
    return {name: filters[name] for name in (*SCOPE, *extra)}


def compose(template: str, filters: Mapping[str, str] | None = None, active: Iterable[str] = (),
            orders: Mapping[str, str] | None = None, order: str | None = None, descending: bool = True) -> str:
    """`template` with its markers replaced by fragments of this module: `/*where*/` by the
    active filters (ANDed, `1` when none), `/*order*/` by a sort key. Unknown names raise
    KeyError: a request can only pick among the fragments above."""
    sql = template
    if filters is not None:
        parts = [filters[name] for name in sorted(set(active))]
        sql = sql.replace("/*where*/", " AND ".join(parts) if parts else "1")
    if orders is not None and order is not None:
        sql = sql.replace("/*order*/", f"{orders[order]} {'DESC' if descending else 'ASC'} NULLS LAST")
    return sql
