"""KeyState <-> bytes for the state changelog, cheap for the common case.

A key's state is written after every batch that touched it, but most of it did not change:
a long session holds dozens of task records, and one task arrived. So each `TaskJoin`'s
payload (its task, spans and feedback, as their wire bytes when the worker attached them under
`processing.RAW`) is pickled once per change and the bytes are kept on the join; writing the
state again copies those bytes. Windows are plain tuples. A registry-encoded record needs the
worker's decoder (with its registry) to be read back.
Pickling the dataclasses directly cost ~360 us for a 40-task session; this costs a few us.
"""

from __future__ import annotations

import pickle
from typing import Any

from phospho_schemas import EventDecoder

from .joins import CompactTask, TaskJoin
from .processing import RAW, KeyState, task_expander
from .sessions import KeyWindows, TaskPoint, Window

__all__ = ["dump_state", "load_state", "FORMAT"]

FORMAT = 2  # 2 added the last batch's tombstones; 1 is still read
_BLOB = "_payload_blob"
_DECODER = EventDecoder()  # attribute on a TaskJoin: (change stamp, pickled payload)


def _entry(record: dict[str, Any] | None) -> Any:
    """A record as its wire bytes when it has them (a memcpy to pickle), else itself."""
    return record.get(RAW, record) if record is not None else None


def _record(entry: Any, kind: str, decoder: EventDecoder) -> dict[str, Any] | None:
    if not isinstance(entry, bytes):
        return entry
    _, record = decoder.decode(entry, expected_kind=kind)
    record[RAW] = entry
    return record


def _payload(join: TaskJoin) -> bytes:
    stamp = (join.version, id(join.task), len(join.spans), len(join.feedback))
    cached = getattr(join, _BLOB, None)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    blob = pickle.dumps((_entry(join.task), [_entry(r) for r in join.spans.values()],
                         [_entry(r) for r in join.feedback.values()]), protocol=5)
    setattr(join, _BLOB, (stamp, blob))
    return blob


def dump_state(state: KeyState) -> bytes:
    windows = [(w.key, w.version, [[tuple(p) for p in win.tasks.values()] for win in w.windows]) for w in state.windows.values()]
    joins = [(j.task_id, j.first_seen_ms, j.orphans_written, j.version, _payload(j)) for j in state.joins.values()]
    return pickle.dumps((FORMAT, windows, joins, state.window_of_task, state.max_event_ms, state.tombstones), protocol=5)


def load_state(blob: bytes, decoder: EventDecoder | None = None) -> KeyState:
    decoder = decoder or _DECODER
    fmt, windows, joins, window_of_task, max_event_ms, *rest = pickle.loads(blob)
    if fmt not in (1, FORMAT):
        raise ValueError(f"unknown state format {fmt!r}")
    state = KeyState(window_of_task=window_of_task, max_event_ms=max_event_ms, tombstones=rest[0] if rest else [])
    for key, version, groups in windows:
        state.windows[key] = KeyWindows(key, [Window({p[0]: TaskPoint(*p) for p in group}) for group in groups], version)
    for task_id, first_seen_ms, orphans_written, version, payload in joins:
        task_entry, span_entries, feedback_entries = pickle.loads(payload)
        task = _record(task_entry, "task", decoder)
        if task is not None and RAW in task:  # kept as the engine keeps it between batches
            task = CompactTask(task, RAW, task_expander(decoder))
        spans = {r["event_id"]: r for r in (_record(e, "span", decoder) for e in span_entries)}
        feedback = {r["event_id"]: r for r in (_record(e, "feedback", decoder) for e in feedback_entries)}
        join = TaskJoin(task_id, first_seen_ms, task, spans, feedback, orphans_written, version)
        setattr(join, _BLOB, ((version, id(task), len(spans), len(feedback)), payload))
        state.joins[task_id] = join
    return state
