"""Which task each OpenTelemetry span belongs to, decided in the app's threads, where it is exact.

- context: a span started inside `phospho.tracer()` / `@phospho.trace()` belongs to that block's
  task (a child span started elsewhere, e.g. in a thread pool, follows its parent).
- auto: a span started outside any block belongs to the next `phospho.log` of the same execution
  context (the thread, or the asyncio task). The SDK sees both, so the link is exact. A span
  still open at that log (a stream's span ends after it) is linked to it as well.
- fallback, in the sender thread (`sweep`): for a span whose execution context never logs, see
  there.

A span event's Kafka key is its task_id, as the task's and its feedback's are, so the three
meet on one partition. A tracer block logging its own task with other ids (a session_id or a
user_id of the log) gives them to its spans still to be encoded.
"""

from __future__ import annotations

import os
import threading
import weakref
from asyncio import current_task as _current_task
from asyncio.events import _get_running_loop
from collections import deque
from collections.abc import Callable
from time import time_ns
from typing import Any

from .._core.queue import Link

__all__ = ["Pending", "SpanLinks", "Owner"]

_current_thread = threading.current_thread
#: an execution context: (thread, asyncio task or None)
Owner = tuple[Any, Any]


class Pending:
    """A span started outside any tracer block, waiting for a log in its execution context."""

    __slots__ = ("span", "owner", "parent", "link", "ended_ns")

    def __init__(self, owner: Owner, parent: Pending | None) -> None:
        self.span: Any = None  # the finished span, once it ended
        self.owner, self.parent = owner, parent
        self.link: Link | None = None
        self.ended_ns = 0


def _owner() -> Owner:
    loop = _get_running_loop()
    return _current_thread(), (_current_task(loop) if loop is not None else None)


class SpanLinks:
    """The links of the process's spans. `emit(span, link)` queues a finished span."""

    def __init__(self, emit: Callable[[Any, Link], None]) -> None:
        self._emit = emit
        #: span_id -> the Link or Pending of each open span (OpenTelemetry ends a span by
        #: handing the processor a new ReadableSpan, so the mark cannot live on the span object)
        self._marks: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._by_owner: dict[Owner, list[Pending]] = {}  # execution context -> its unlinked spans
        self._recent: deque[tuple[int, Link]] = deque(maxlen=8192)  # (time_ns, link) of recent logs
        self._count = 0  # finished spans waiting for a log
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (links := ref()) is not None and links._after_fork_in_child())

    def waiting(self) -> int:
        return self._count

    def is_open(self, span_id: int) -> bool:
        return span_id in self._marks

    # -- the app's threads ---------------------------------------------------------------------
    @staticmethod
    def context_link(task_id: str, session_id: str) -> Link:
        """The link of a new tracer block: its task."""
        return Link(task_id, session_id, None, "context")

    def span_started(self, span_id: int, parent_id: int | None, ctx_link: Link | None) -> None:
        """A span started: note its tracer block's link, else its parent's, else wait for a log."""
        marks = self._marks
        parent = marks.get(parent_id) if parent_id is not None else None
        if ctx_link is None and type(parent) is Link:
            ctx_link = parent  # a child of a context span, started outside the block
        if ctx_link is not None:
            marks[span_id] = ctx_link
            return
        if parent is not None and parent.link is not None:
            marks[span_id] = parent.link
            return
        pending = Pending(_owner(), parent)
        marks[span_id] = pending
        with self._lock:
            mine = self._by_owner.get(pending.owner)
            if mine is None:
                self._by_owner[pending.owner] = [pending]
            else:
                mine.append(pending)

    def span_ended(self, span: Any) -> None:
        """A span ended (`span` is the finished ReadableSpan): queue it, or keep it until its
        task's key is known."""
        ctx = span.context
        mark = self._marks.pop(ctx.span_id, None)
        if mark is None:  # started before phospho's processor was added
            self.span_started(ctx.span_id, None, None)
            mark = self._marks.pop(ctx.span_id)
        if type(mark) is Link:
            self._emit(span, mark)
            return
        with self._lock:
            link = mark.link
            if link is None:
                mark.span = span
                mark.ended_ns = span.end_time or time_ns()
                self._count += 1
                return
        self._emit(span, link)

    def task_logged(self, task_id: str, session_id: Any, user_id: Any, ctx_link: Link | None,
                    ctx_task_id: str | None) -> None:
        """phospho.log built a task: link the spans of this execution context to it, and give a
        tracer block logging its own task the task's ids."""
        user = user_id if user_id is None or type(user_id) is str else str(user_id)
        link = Link(task_id, session_id, user, "auto")
        released: list[tuple[Any, Link]] = []
        owner = _owner()
        if ctx_link is not None and ctx_task_id == task_id:
            ctx_link.session_id, ctx_link.user_id = session_id, user
        with self._lock:
            pendings = self._by_owner.pop(owner, None)
            self._recent.append((time_ns(), link))
            if pendings:
                for pending in pendings:
                    pending.link = link
                    if pending.ended_ns:
                        released.append((pending.span, link))
                        self._count -= 1
        for span, to in released:
            self._emit(span, to)

    # -- the sender thread's sweep (see sweep.py) ----------------------------------------------
    def recent_logs(self) -> list[tuple[int, Link]]:
        """(time_ns, link) of the recent logs, oldest first."""
        return list(self._recent)

    def waiting_spans(self) -> list[tuple[Owner, list[Pending]]]:
        """The execution contexts with spans waiting for a log."""
        with self._lock:
            return list(self._by_owner.items())

    def release(self, owner: Owner, pending: Pending, link: Link) -> bool:
        """Give a waiting span its link (False when a log gave it one meanwhile)."""
        with self._lock:
            if pending.link is not None:
                return False
            pending.link = link
            pendings = self._by_owner.get(owner)
            if pendings is not None:
                pendings.remove(pending)
            self._count -= 1
            return True

    def forget_if_empty(self, owner: Owner, pendings: list[Pending]) -> None:
        with self._lock:
            if not pendings and self._by_owner.get(owner) is pendings:
                del self._by_owner[owner]

    def emit(self, span: Any, link: Link) -> None:
        self._emit(span, link)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._by_owner.clear()
        self._marks.clear()
        self._recent.clear()
        self._count = 0

