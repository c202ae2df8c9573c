"""One task per trace, whatever pieces it arrives in: what the receiver remembers of recent traces,
and what each request's spans of a trace add.

An OpenTelemetry batch exporter sends spans as they end, so a trace may come in several
requests, its GenAI span in any of them. Each request's spans are sent at once, linked to their
trace's task (its id derives from the trace id: a piece needs nothing remembered to be linked).
The task is sent when a GenAI span of the trace arrives, and sent again, complete, when a later
piece brings a span that speaks better for the trace (see tasks.py), or the trace's first session
or user id: the pipeline keeps a task's newest event. What the receiver remembers of each
trace (the speaking span's fields, the ids) is bounded by bytes; a trace forgotten (or sent to
another receiver) may have its task sent again from a later piece alone.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .spans import ReceivedSpan
from .tasks import Candidate, best_candidate, candidate, task_fields, task_id_of, trace_ids

__all__ = ["TraceMemory", "TraceUpdate"]

_STATE_BYTES = 400  # what a remembered trace costs besides its texts (approximately)


@dataclass(slots=True)
class _State:
    speaker: Candidate | None
    session_id: str | None
    user_id: str | None
    resource: dict[str, Any]
    sent: tuple[str, str | None, str | None] | None  # (speaker, session, user) of the task last sent

    @property
    def size(self) -> int:
        return _STATE_BYTES + (self.speaker.size if self.speaker is not None else 0)


@dataclass(frozen=True, slots=True)
class TraceUpdate:
    """What to send for one trace of a request: its spans, and its task when it changed."""

    trace_id: str
    task_id: str
    session_id: str | None
    user_id: str | None
    spans: list[ReceivedSpan]
    task: dict[str, Any] | None  # the task's fields (phospho.log's keys), or None: nothing new
    created_at_ms: int
    speaker: str | None  # the span the task comes from


class TraceMemory:
    """The recent traces' states, least recently used forgotten first beyond `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._states: OrderedDict[str, _State] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._states)

    def update(self, trace_id: str, spans: list[ReceivedSpan]) -> TraceUpdate:
        """The spans of `trace_id` in one request: what to send."""
        found = best_candidate(candidate(span) for span in spans)
        session, user = trace_ids(spans, found.span_id if found else None)
        with self._lock:
            state = self._states.pop(trace_id, None)
            if state is None:
                state = _State(None, None, None, {}, None)
            else:
                self._bytes -= state.size
            if found is not None and (state.speaker is None or found.rank > state.speaker.rank):
                state.speaker = found
                state.resource = next((s.resource for s in spans if s.span_id == found.span_id), {})
            state.session_id = state.session_id or session
            state.user_id = state.user_id or user
            task, speaker = None, state.speaker
            if speaker is not None and state.sent != (speaker.span_id, state.session_id, state.user_id):
                state.sent = (speaker.span_id, state.session_id, state.user_id)
                task = task_fields(trace_id, speaker, state.session_id, state.user_id, state.resource)
            self._remember(trace_id, state)
            return TraceUpdate(trace_id, task_id_of(trace_id), state.session_id, state.user_id, spans, task,
                               speaker.created_at_ms if speaker is not None else 0,
                               speaker.span_id if speaker is not None else None)

    def _remember(self, trace_id: str, state: _State) -> None:
        self._states[trace_id] = state
        self._bytes += state.size
        while self._bytes > self.max_bytes and len(self._states) > 1:
            _, old = self._states.popitem(last=False)
            self._bytes -= old.size
