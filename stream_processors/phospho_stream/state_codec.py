"""KeyState <-> bytes for the state changelog, cheap for the common case.

A key's state is written after every batch that touched it, but most of it did not change:
a long session holds dozens of tasks, and one arrived. So each part is pickled once per change
and its bytes kept until the next change: each `TaskJoin` (its task, spans and feedback as
their wire bytes when the worker attached them under `processing.RAW`) and each session
`Window` (its task points as plain tuples, one pickle each, back to back: a task added at the
window's end appends its own pickle, and the window's others are not pickled again). Writing
the state again copies those bytes. A registry-encoded record needs the worker's decoder (with
its registry) to be read back. Pickling the dataclasses directly cost ~360 us for a 40-task
session; this costs a few us.

The record holds the joins' bytes back to back too (one bytes object, not a list of them), and
not the task -> window id map: that map is the ids of the windows each task is in
(`processing._window_rows` records every task of every window it writes), so it is rebuilt on
load instead of being pickled with every write.
"""

from __future__ import annotations

import pickle
from io import BytesIO
from typing import Any

from phospho_schemas import EventDecoder

from .joins import CompactTask, TaskJoin
from .processing import RAW, KeyState, task_expander
from .sessions import KeyWindows, TaskPoint, Window

__all__ = ["dump_state", "load_state", "FORMAT"]

#: 4: (4, windows, joins' pickles back to back, max_event_ms, tombstones); a window's bytes are
#: its points' pickles back to back. Still read: 3 (joins as a list of pickles, and the task ->
#: window id map), 2 (a window's bytes are one pickled list of points) and 1 (windows as lists
#: of tuples, joins as tuples around a pickled payload, no tombstones)
FORMAT = 4
_BLOB = "_encoded"  # attribute on a TaskJoin: (its version, pickled join)
_DECODER = EventDecoder()


def _entry(record: dict[str, Any] | None) -> Any:
    """A record as its wire bytes when it has them (a memcpy to pickle), else itself."""
    return record.get(RAW, record) if record is not None else None


def _record(entry: Any, kind: str, decoder: EventDecoder) -> dict[str, Any] | None:
    if not isinstance(entry, bytes):
        return entry
    _, record = decoder.decode(entry, expected_kind=kind)
    record[RAW] = entry
    return record


def _join_blob(join: TaskJoin) -> bytes:
    """A join's bytes, pickled again only when its version moved: every change of a join
    bumps it (`joins.py`); a task made compact keeps the same wire bytes."""
    blob = pickle.dumps((join.task_id, join.first_seen_ms, join.orphans_written, join.version, _entry(join.task),
                         [_entry(r) for r in join.spans.values()], [_entry(r) for r in join.feedback.values()]), protocol=5)
    setattr(join, _BLOB, (join.version, blob))
    return blob


def _window_blob(window: Window) -> bytes:
    blob, appended = window.encoded, window.appended
    if blob is None:
        blob = window.encoded = b"".join([pickle.dumps(tuple(p), protocol=5) for p in window.tasks.values()])
    elif appended:  # tasks added at the end since: their pickles follow
        blob = window.encoded = blob + b"".join([pickle.dumps(tuple(p), protocol=5) for p in appended])
    window.appended = None
    return blob


def _pickles(blob: bytes) -> list[tuple[Any, bytes]]:
    """Each object of pickles placed back to back, with its own bytes."""
    buf, objects, start = BytesIO(blob), [], 0
    while start < len(blob):
        obj = pickle.load(buf)
        end = buf.tell()
        objects.append((obj, blob[start:end]))
        start = end
    return objects


def dump_state(state: KeyState) -> bytes:
    windows = [(w.key, w.version, [_window_blob(win) for win in w.windows]) for w in state.windows.values()]
    joins = b"".join([c[1] if (c := getattr(j, _BLOB, None)) is not None and c[0] == j.version else _join_blob(j)
                      for j in state.joins.values()])
    return pickle.dumps((FORMAT, windows, joins, state.max_event_ms, state.tombstones), protocol=5)


def _join(fields: tuple[Any, ...], decoder: EventDecoder, expand: Any) -> TaskJoin:
    task_id, first_seen_ms, orphans_written, version, task_entry, span_entries, feedback_entries = fields
    task = _record(task_entry, "task", decoder)
    if task is not None and RAW in task:  # kept as the engine keeps it between batches
        task = CompactTask(task, RAW, expand)
    spans = {r["event_id"]: r for r in (_record(e, "span", decoder) for e in span_entries)}
    feedback = {r["event_id"]: r for r in (_record(e, "feedback", decoder) for e in feedback_entries)}
    return TaskJoin(task_id, first_seen_ms, task, spans, feedback, orphans_written, version)


def load_state(blob: bytes, decoder: EventDecoder | None = None) -> KeyState:
    decoder = decoder or _DECODER
    record = pickle.loads(blob)
    fmt = record[0]
    if fmt == FORMAT:
        _, windows, joins, max_event_ms, tombstones = record
        window_of_task = None  # rebuilt below
    elif fmt in (1, 2, 3):
        _, windows, joins, window_of_task, max_event_ms, *rest = record
        tombstones = rest[0] if rest else []
    else:
        raise ValueError(f"unknown state format {fmt!r}")
    state = KeyState(window_of_task=window_of_task or {}, max_event_ms=max_event_ms, tombstones=tombstones)
    points = {1: lambda group: group, 2: pickle.loads}.get(fmt, lambda group: [p for p, _ in _pickles(group)])
    for key, version, groups in windows:
        parts = []
        for group in groups:
            window = Window({p[0]: TaskPoint(*p) for p in points(group)})
            if fmt >= 3:  # its bytes are still a window's bytes (formats 1 and 2: made anew)
                window.encoded = group
            parts.append(window)
            if window_of_task is None:
                window_id = window.window_id(key)
                state.window_of_task.update(dict.fromkeys(window.tasks, window_id))
        state.windows[key] = KeyWindows(key, parts, version)
    expand = task_expander(decoder)  # one for the key's tasks, not one each
    if fmt == 1:  # (task_id, first_seen_ms, orphans_written, version, pickled (task, spans, feedback))
        for entry in joins:
            join = _join((*entry[:4], *pickle.loads(entry[4])), decoder, expand)
            state.joins[join.task_id] = join
        return state
    for fields, entry in (_pickles(joins) if fmt == FORMAT else [(pickle.loads(entry), entry) for entry in joins]):
        join = _join(fields, decoder, expand)
        setattr(join, _BLOB, (join.version, entry))
        state.joins[join.task_id] = join
    return state
