"""The in-memory queue between the app's threads and the sender thread; the merge of a task
logged again; where a span goes (its Link).

`LogQueue.events` is phospho's public attribute: a dict keyed by task id whose values have
`.content` (the dict being built, the one `phospho.log` returned) and `.to_log`. It holds the
task events not yet taken by the sender; a second `log` with the same task_id merges into the
pending event (streams do this chunk by chunk). `ready` is the FIFO the sender drains; feedback
and span events go there directly. `streams` are the streams not ended yet (sent at exit, ended
or not), `dropped` the ones to finish in the sender thread (dropped by the app, or ended where
the lock could not be taken: a garbage collection may run while this thread holds it). All
mutation happens under `lock` (held for microseconds), except appending to `dropped`.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

__all__ = ["Event", "LogQueue", "Link", "UNLINKED", "merge_contents"]


class Event:
    """One event waiting to be sent. `content` is what the app sees; the rest is bookkeeping."""

    __slots__ = (
        "id", "content", "to_log", "kind", "ts_ms", "event_ms", "last_ms",
        "session_generated", "errors", "stream", "queued", "event_id",
    )

    def __init__(
        self,
        id: str,
        content: dict[str, Any],
        to_log: bool = True,
        kind: str = "task",
        ts_ms: int = 0,
        session_generated: bool = False,
        errors: list[str] | None = None,
        stream: bool = False,
    ) -> None:
        self.id = id
        self.content = content
        self.to_log = to_log
        self.kind = kind
        self.ts_ms = ts_ms  # client time of the first call, in ms
        self.event_ms: int | None = None  # the created_at keyword, when given
        self.last_ms: int | None = None  # client time of the last merged call
        self.session_generated = session_generated
        self.errors = errors if errors is not None else []
        self.stream = stream
        self.queued = False
        self.event_id: str | None = None  # the event's id when its sender chose one (idempotent resends)

    def __repr__(self) -> str:
        return f"Event(id={self.id!r}, kind={self.kind!r}, to_log={self.to_log})"


class LogQueue:
    def __init__(self, maxsize: int = 50_000) -> None:
        self.lock = threading.Lock()
        self.events: dict[str, Event] = {}
        self.ready: deque[Event] = deque()
        self.streams: set[Any] = set()
        self.dropped: deque[Any] = deque()
        self.maxsize = maxsize

    def __len__(self) -> int:
        return len(self.ready)

    def take(self, limit: int) -> list[Event]:
        """Pop up to `limit` events that are ready to send (the sender's side)."""
        out: list[Event] = []
        with self.lock:
            ready, events = self.ready, self.events
            while ready and len(out) < limit:
                event = ready.popleft()
                event.queued = False
                if not event.to_log:  # a stream that resumed after being marked done
                    continue
                if event.kind == "task" and events.get(event.id) is event:
                    del events[event.id]
                out.append(event)
        return out

    def reset(self) -> None:
        """Forget everything (used in a forked child: the parent sends its own events)."""
        self.lock = threading.Lock()
        self.events.clear()
        self.ready.clear()
        self.streams.clear()
        self.dropped.clear()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def merge_contents(existing: dict[str, Any], new: dict[str, Any], concatenate_raw_outputs: bool) -> None:
    """phospho's rule for a task_id logged again before it was sent: output strings
    concatenate, raw_output becomes a list (or, with concatenate_raw_outputs=False, the newest
    raw_output), completion_tokens and total_tokens add up, client_created_at keeps the first
    value, last_update is set, other keys take the newest value."""
    old_out, new_out = existing.get("output"), new.get("output")
    fused_out = None if old_out is None and new_out is None else f"{old_out or ''}{new_out or ''}"
    old_raw, new_raw = existing.get("raw_output"), new.get("raw_output")
    if not concatenate_raw_outputs:
        fused_raw = new_raw
    elif old_raw is None and new_raw is None:
        fused_raw = None
    else:
        fused_raw = _as_list([] if old_raw is None else old_raw) + _as_list([] if new_raw is None else new_raw)
    fused: dict[str, Any] = {
        "client_created_at": existing["client_created_at"],
        "last_update": new["client_created_at"],
        "output": fused_out,
        "raw_output": fused_raw,
    }
    for key in ("completion_tokens", "total_tokens"):
        if key in new:
            try:
                fused[key] = new[key] + existing.get(key, 0)
            except TypeError:
                fused[key] = new[key]
    existing.update(new)
    existing.update(fused)


class Link:
    """Which task a span belongs to (its ids; the task_id is the span event's Kafka key), and
    how the link was made."""

    __slots__ = ("task_id", "session_id", "user_id", "method")

    def __init__(self, task_id: str | None, session_id: str | None, user_id: str | None, method: str | None) -> None:
        self.task_id, self.session_id, self.user_id, self.method = task_id, session_id, user_id, method

    def as_method(self, method: str) -> Link:
        return Link(self.task_id, self.session_id, self.user_id, method)


#: a span that found no task: stored as an orphan (keyed by its trace_id)
UNLINKED = Link(None, None, None, None)
