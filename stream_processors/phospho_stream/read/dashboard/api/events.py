"""The events endpoints: each event's figures and detections per day; one event's detections,
newest first, with their tasks' text."""

from __future__ import annotations

from typing import Any

from .. import queries as Q
from ..params import filters, paging, required
from .base import Args, Read, dicts, one, pairs, rows_by_id

__all__ = ["events", "event"]

_SESSIONS = Q.scoped(Q.SESSION_FILTERS)


def events(read: Read, args: Args) -> dict[str, Any]:
    """Every event detected in the filters (most detections first): detections, tasks, sessions,
    users, first and last seen, sources and scopes, detections per day, and the share of
    session windows where it happened."""
    active, params = filters(args, Q.EVENT_FILTERS)
    rows = dicts(read(Q.compose(Q.EVENTS_SUMMARY, Q.EVENT_FILTERS, active), params or None))
    scope, scope_params = filters(args, _SESSIONS)
    reach = one(read(Q.compose(Q.EVENT_SESSIONS, _SESSIONS, scope), scope_params or None), "sessions")
    with_event = dict(pairs(reach["with_event"]))
    for r in rows:
        r["days"] = sorted(pairs(r.pop("per_day")))
        r["sessions_with_event"] = with_event.get(r["event_name"], 0)
    return {"events": rows, "sessions": reach["sessions"]}


def event(read: Read, args: Args) -> dict[str, Any]:
    """One page of an event's detections (`event`, newest first), each with its task's text,
    language, sentiment and flag."""
    required(args, "event")
    active, params = filters(args, Q.EVENT_FILTERS)
    number, size, window = paging(args)
    found = dicts(read(Q.compose(Q.EVENT_MATCHES, Q.EVENT_FILTERS, active), {**params, **window}))
    tasks = rows_by_id(read, Q.TASK_ROWS, "task_id", list(dict.fromkeys(r["task_id"] for r in found)))
    keep = ("input", "output", "language", "sentiment_label", "flag", "flag_source", "model", "span_models")
    for r in found:
        r["task"] = {k: tasks[r["task_id"]][k] for k in keep} if r["task_id"] in tasks else None
    if found:
        total = found[0]["total"]
    elif window["offset"]:  # past the end: the total from the first row
        first = read(Q.compose(Q.EVENT_MATCHES, Q.EVENT_FILTERS, active), {**params, "limit": 1, "offset": 0}).rows
        total = first[0][-1] if first else 0
    else:
        total = 0
    for r in found:
        del r["total"]
    return {"total": total, "page": number, "size": size, "rows": found}
