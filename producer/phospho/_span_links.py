"""Which task each OpenTelemetry span belongs to, decided in the app's threads, where it is exact.

- context: a span started inside `phospho.tracer()` / `@phospho.trace()` belongs to that block's
  task (a child span started elsewhere, e.g. in a thread pool, follows its parent).
- auto: a span started outside any block belongs to the next `phospho.log` of the same execution
  context (the thread, or the asyncio task). The SDK sees both, so the link is exact. A span
  still open at that log (a stream's span ends after it) is linked to it as well.
- fallback, in the sender thread (`_span_sweep`): for a span whose execution context never
  logs, see there.

Span events carry their task's Kafka key (the sessionization key, as `_records.partition_key`
computes it for the task) so that they land on the task's partition. That key depends on the
task's user_id when its session id was generated, so a context span waits for its block's log,
or the block's end, before it is queued.
"""

from __future__ import annotations

import os
import threading
from asyncio import current_task as _current_task
from asyncio.events import _get_running_loop
from collections import deque
from collections.abc import Callable
from time import time_ns
from typing import Any

__all__ = ["Link", "Pending", "UNLINKED", "context_link", "context_closed", "span_started", "span_ended",
           "task_logged", "waiting", "set_emitter", "task_key"]

_current_thread = threading.current_thread


class Link:
    """Where a span goes: its task's ids and Kafka key, and how the link was made."""

    __slots__ = ("task_id", "session_id", "user_id", "key", "method", "held")

    def __init__(self, task_id: str | None, session_id: str | None, user_id: str | None, key: str | None,
                 method: str | None) -> None:
        self.task_id, self.session_id, self.user_id = task_id, session_id, user_id
        self.key, self.method = key, method
        self.held: list[Any] = []  # spans that ended before the key was known (context links)

    def as_method(self, method: str) -> Link:
        return Link(self.task_id, self.session_id, self.user_id, self.key, method)


class Pending:
    """A span started outside any tracer block, waiting for a log in its execution context."""

    __slots__ = ("span", "owner", "parent", "link", "ended_ns")

    def __init__(self, owner: tuple[Any, Any], parent: Pending | None) -> None:
        self.span: Any = None  # the finished span, once it ended
        self.owner, self.parent = owner, parent
        self.link: Link | None = None
        self.ended_ns = 0


UNLINKED = Link(None, None, None, None, None)
#: span_id -> the Link or Pending of each open span (OpenTelemetry ends a span by handing the
#: processor a new ReadableSpan, so the mark cannot live on the span object)
_marks: dict[int, Any] = {}
_lock = threading.Lock()
_by_owner: dict[tuple[Any, Any], list[Pending]] = {}  # execution context -> its unlinked spans
_held: set[Link] = set()  # context links holding spans until their key is known
_recent: deque[tuple[int, Link]] = deque(maxlen=8192)  # (time_ns, link) of recent logs
_count = [0]  # finished spans waiting (unlinked, or held by a context link)
_emit: list[Callable[[Any, Link], None]] = []


def set_emitter(emit: Callable[[Any, Link], None]) -> None:
    """`emit(span, link)` queues a finished span for the sender (set by the tracing setup)."""
    _emit[:] = [emit]


def waiting() -> int:
    return _count[0]


def task_key(task_id: str, session_id: Any, user_id: Any, generated: bool) -> str:
    """The task's Kafka key, exactly as the encoder computes it from the task record."""
    if generated and user_id:
        return user_id if type(user_id) is str else str(user_id)
    session = session_id if session_id is None or type(session_id) is str else str(session_id)
    return session or task_id


def _owner() -> tuple[Any, Any]:
    loop = _get_running_loop()
    return _current_thread(), (_current_task(loop) if loop is not None else None)


def context_link(task_id: str, session_id: str, generated: bool) -> Link:
    """The link of a new tracer block: its key is known now unless its session id is generated
    (then the task's user_id may make the key, see task_key)."""
    return Link(task_id, session_id, None, None if generated else session_id, "context")


def _resolve(link: Link, key: str, session_id: Any, user_id: Any) -> list[Any]:
    """Set a context link's key (under _lock); returns the spans it held."""
    link.key, link.session_id, link.user_id = key, session_id, user_id
    held, link.held = link.held, []
    if held:
        _held.discard(link)
        _count[0] -= len(held)
    return held


def context_closed(link: Link) -> None:
    """A tracer block ended without logging its task: its spans go under its own session."""
    if link.key is not None:
        return
    with _lock:
        held = _resolve(link, link.session_id or link.task_id, link.session_id, None) if link.key is None else []
    for span in held:
        _emit[0](span, link)


def span_started(span_id: int, parent_id: int | None, ctx_link: Link | None) -> None:
    """A span started: note its tracer block's link, else its parent's, else wait for a log."""
    parent = _marks.get(parent_id) if parent_id is not None else None
    if ctx_link is None and type(parent) is Link:
        ctx_link = parent  # a child of a context span, started outside the block
    if ctx_link is not None:
        _marks[span_id] = ctx_link
        return
    if parent is not None and parent.link is not None:
        _marks[span_id] = parent.link
        return
    pending = Pending(_owner(), parent)
    _marks[span_id] = pending
    with _lock:
        mine = _by_owner.get(pending.owner)
        if mine is None:
            _by_owner[pending.owner] = [pending]
        else:
            mine.append(pending)


def span_ended(span: Any) -> None:
    """A span ended (`span` is the finished ReadableSpan): queue it, or keep it until its
    task's key is known."""
    ctx = span.context
    mark = _marks.pop(ctx.span_id, None)
    if mark is None:  # started before phospho's processor was added
        span_started(ctx.span_id, None, None)
        mark = _marks.pop(ctx.span_id)
    if type(mark) is Link:
        if mark.key is None:
            with _lock:
                if mark.key is None:
                    if not mark.held:
                        _held.add(mark)
                    mark.held.append(span)
                    _count[0] += 1
                    return
        _emit[0](span, mark)
        return
    with _lock:
        link = mark.link
        if link is None:
            mark.span = span
            mark.ended_ns = span.end_time or time_ns()
            _count[0] += 1
            return
    _emit[0](span, link)


def task_logged(task_id: str, session_id: Any, user_id: Any, generated: bool, ctx_link: Link | None,
                ctx_task_id: str | None) -> None:
    """phospho.log built a task: link the spans of this execution context to it, and give a
    tracer block logging its own task the task's key."""
    key = task_key(task_id, session_id, user_id, generated)
    user = user_id if user_id is None or type(user_id) is str else str(user_id)
    link = Link(task_id, session_id, user, key, "auto")
    released: list[tuple[Any, Link]] = []
    owner = _owner()
    with _lock:
        if ctx_link is not None and ctx_task_id == task_id and (ctx_link.key != key or ctx_link.user_id != user):
            released += [(span, ctx_link) for span in _resolve(ctx_link, key, session_id, user)]
        pendings = _by_owner.pop(owner, None)
        _recent.append((time_ns(), link))
        if pendings:
            for pending in pendings:
                pending.link = link
                if pending.ended_ns:
                    released.append((pending.span, link))
                    _count[0] -= 1
    for span, to in released:
        _emit[0](span, to)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    _by_owner.clear()
    _marks.clear()
    _held.clear()
    _recent.clear()
    _count[0] = 0


os.register_at_fork(after_in_child=_after_fork_in_child)
