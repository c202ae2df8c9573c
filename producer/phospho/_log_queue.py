"""The in-memory queue between the app's threads and the sender thread.

`LogQueue.events` is phospho's public attribute: a dict keyed by task id whose values have
`.content` (the dict being built, the one `phospho.log` returned) and `.to_log`. It holds the
task events not yet taken by the sender; a second `log` with the same task_id merges into the
pending event (streams do this chunk by chunk). `ready` is the FIFO the sender drains; feedback
and span events go there directly. All mutation happens under `lock` (held for microseconds).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

__all__ = ["Event", "LogQueue"]


class Event:
    """One event waiting to be sent. `content` is what the app sees; the rest is bookkeeping."""

    __slots__ = (
        "id", "content", "to_log", "kind", "ts_ms", "event_ms", "last_ms",
        "session_generated", "errors", "stream", "queued",
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

    def __repr__(self) -> str:
        return f"Event(id={self.id!r}, kind={self.kind!r}, to_log={self.to_log})"


class LogQueue:
    def __init__(self, maxsize: int = 50_000) -> None:
        self.lock = threading.Lock()
        self.events: dict[str, Event] = {}
        self.ready: deque[Event] = deque()
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

    def pending_streams(self) -> list[Event]:
        with self.lock:
            return [e for e in self.events.values() if not e.to_log]

    def reset(self) -> None:
        """Forget everything (used in a forked child: the parent sends its own events)."""
        self.lock = threading.Lock()
        self.events.clear()
        self.ready.clear()
