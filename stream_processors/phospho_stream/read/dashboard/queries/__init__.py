"""Every SQL statement the dashboard runs, on the analysts' views only.

Values are always bound as ClickHouse `{name:Type}` parameters. The only variable parts of a
statement are the `/*where*/` and `/*order*/` markers, which `compose` replaces with constant
fragments of filters.py chosen by name (a filter that is present, a sort key from a fixed
list): nothing a request sends ever becomes SQL text. Lists of ids are bound as one JSON
String parameter and read with JSONExtract.

Times leave the store as epoch milliseconds (`*_ms`), the same from chDB and a server.

Each view reads one storage table with FINAL, and a condition on anything but its key can only
be applied after FINAL merged the rows (a task's columns come from several partial rows): such
a lookup reads every row. So rows are found in two steps: their ids, by a scan of the few
columns the condition needs (a page of ids with the total; a window's tasks; a task's steps),
then the rows by key (`key IN (SELECT ...)`, or a bound list of ids). The statements that read a
view by its key run with the `BY_KEY` setting (`tuning(sql)`, passed beside the SQL: the read
path refuses a SETTINGS clause), which lets ClickHouse apply a key condition before FINAL
(conditions on other columns stay after it): the other columns are then read for the matching
granules only. Figures come from the smaller views where they can (sessions, events), the tasks
view only for what a session does not sum (per model, per language, sentiment labels).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .analysis import (
    ENDING_MESSAGES,
    EVENT_MATCHES,
    EVENT_SESSIONS,
    EVENTS_SUMMARY,
    RANKINGS,
    SESSION_SHAPES,
    TASK_INSIGHTS,
    TOPICS,
    USER_RANKINGS,
)
from .browse import (
    EVENT_NAMES,
    FACETS,
    SESSION,
    SESSION_ROWS,
    SESSION_TASKS,
    SESSIONS_COUNT,
    SESSIONS_PAGE,
    SPANS_OF_TASKS,
    TASK,
    TASK_EVENTS,
    TASK_ROWS,
    TASK_SPANS,
    TASK_TOPIC,
    TASKS_COUNT,
    TASKS_PAGE,
    USER,
    USERS_COUNT,
    USERS_PAGE,
)
from .exports import EVENTS_EXPORT, SESSIONS_EXPORT, TASKS_EXPORT, USERS_EXPORT
from .filters import (
    EVENT_FILTERS,
    SCOPE,
    SESSION_FILTERS,
    SESSION_ORDERS,
    TASK_FILTERS,
    USER_FILTERS,
    USER_ORDERS,
    compose,
    scoped,
)

__all__ = [
    "SCOPE", "TASK_FILTERS", "SESSION_FILTERS", "USER_FILTERS", "EVENT_FILTERS", "SESSION_ORDERS", "USER_ORDERS",
    "compose", "scoped",
    "TASKS_PAGE", "TASKS_COUNT", "TASK_ROWS", "TASK", "TASK_SPANS", "TASK_EVENTS", "TASK_TOPIC", "SESSION_TASKS",
    "SPANS_OF_TASKS", "SESSIONS_PAGE", "SESSIONS_COUNT", "SESSION_ROWS", "SESSION", "USERS_PAGE", "USERS_COUNT", "USER",
    "FACETS", "EVENT_NAMES", "TASK_INSIGHTS", "SESSION_SHAPES", "ENDING_MESSAGES", "USER_RANKINGS", "RANKINGS", "TOPICS",
    "EVENTS_SUMMARY", "EVENT_SESSIONS", "EVENT_MATCHES", "TASKS_EXPORT", "SESSIONS_EXPORT", "USERS_EXPORT",
    "EVENTS_EXPORT", "BROWSE_STATEMENTS", "ANALYSIS_STATEMENTS", "ALL_STATEMENTS", "BY_KEY", "tuning",
]

# reading a view by its key: the key condition is applied before FINAL (see the module's doc)
BY_KEY: Mapping[str, Any] = {"optimize_move_to_prewhere_if_final": 1}

_KEYED = frozenset({TASK_ROWS, TASK, TASK_SPANS, TASK_EVENTS, SPANS_OF_TASKS, SESSION_TASKS})


def tuning(sql: str) -> Mapping[str, Any] | None:
    """The settings a statement of this package runs with: BY_KEY for the reads by key, and for
    those whose filters read a key through a subquery (`task_id IN (SELECT ...)`)."""
    return BY_KEY if sql in _KEYED or "_id IN (SELECT" in sql else None


_SESSION_SCOPE = scoped(SESSION_FILTERS)

# every statement with its markers at their widest (for the read-only and binding tests), by page
#: the browsing pages' (tasks, sessions, users, one of each, the filter choices)
BROWSE_STATEMENTS: tuple[str, ...] = (
    compose(TASKS_PAGE, TASK_FILTERS, TASK_FILTERS), compose(TASKS_COUNT, TASK_FILTERS, TASK_FILTERS), TASK_ROWS, TASK,
    TASK_SPANS, TASK_EVENTS, TASK_TOPIC, SPANS_OF_TASKS, SESSION_TASKS,
    compose(SESSIONS_PAGE, SESSION_FILTERS, SESSION_FILTERS, SESSION_ORDERS, "start"),
    compose(SESSIONS_COUNT, SESSION_FILTERS, SESSION_FILTERS), SESSION_ROWS, SESSION,
    compose(USERS_PAGE, USER_FILTERS, USER_FILTERS, USER_ORDERS, "tasks"), compose(USERS_COUNT, USER_FILTERS, USER_FILTERS),
    compose(USER, USER_FILTERS, (*SCOPE, "user")), FACETS, EVENT_NAMES,
)
#: the insights and events pages' and the CSV exports'
ANALYSIS_STATEMENTS: tuple[str, ...] = (
    compose(TASK_INSIGHTS, scoped(TASK_FILTERS), SCOPE), compose(SESSION_SHAPES, _SESSION_SCOPE, SCOPE),
    compose(ENDING_MESSAGES, _SESSION_SCOPE, SCOPE), compose(USER_RANKINGS, scoped(USER_FILTERS), SCOPE), TOPICS,
    compose(EVENTS_SUMMARY, EVENT_FILTERS, EVENT_FILTERS), compose(EVENT_SESSIONS, _SESSION_SCOPE, SCOPE),
    compose(EVENT_MATCHES, EVENT_FILTERS, EVENT_FILTERS),
    compose(TASKS_EXPORT, TASK_FILTERS, TASK_FILTERS),
    compose(SESSIONS_EXPORT, SESSION_FILTERS, SESSION_FILTERS, SESSION_ORDERS, "start"),
    compose(USERS_EXPORT, USER_FILTERS, USER_FILTERS, USER_ORDERS, "tasks"),
    compose(EVENTS_EXPORT, EVENT_FILTERS, EVENT_FILTERS),
)
ALL_STATEMENTS: tuple[str, ...] = BROWSE_STATEMENTS + ANALYSIS_STATEMENTS
