"""The sender thread's pass over spans still waiting for a log (`SpanLinks`), every 0.2 s.

A span whose execution context never logs (the thread or asyncio task has ended, or
`trace_link_timeout` passed since the span ended) follows its parent span when that one got a
task. Else it goes to the first `phospho.log` after its end, in any thread, within the timeout
(timestamps, as phospho does: link_method "auto_time"). Else it is sent unlinked, and storage
keeps it as an orphan. More waiting spans than `limit` (the queue size), or the final pass at
exit, release everything at once.
"""

from __future__ import annotations

import bisect
import time
from time import time_ns
from typing import Any

from .._core.queue import UNLINKED, Link
from .._core.settings import Settings
from .links import Owner, Pending, SpanLinks

__all__ = ["sweep", "Sweeper"]

_SWEEP_EVERY = 0.2


def _alive(owner: Owner) -> bool:
    thread, task = owner
    return thread.is_alive() and (task is None or not task.done())


def _by_parent(pending: Pending) -> Link | None:
    parent = pending.parent
    while parent is not None:
        if parent.link is not None:
            return parent.link
        parent = parent.parent
    return None


def sweep(links: SpanLinks, timeout_s: float, limit: int, final: bool = False) -> int:
    """One pass over the waiting spans (see the module doc); `final` (at exit) releases all of
    them. Returns how many were released."""
    if not links.waiting():
        return 0
    now = time_ns()
    timeout = int(timeout_s * 1e9)
    crowded = final or links.waiting() > limit
    logs = links.recent_logs()
    times = [t for t, _ in logs]
    released: list[tuple[Any, Link]] = []
    owners = links.waiting_spans()
    for owner, pendings in owners:
        dead = not _alive(owner)
        for pending in list(pendings):
            if pending.link is not None or not pending.ended_ns:
                continue
            expired = crowded or now - pending.ended_ns > timeout
            link = _by_parent(pending)
            if link is None and (dead or expired):
                at = bisect.bisect_left(times, pending.ended_ns)
                if at < len(logs) and times[at] - pending.ended_ns <= timeout:
                    link = logs[at][1].as_method("auto_time")
                elif expired:
                    link = UNLINKED
            if link is not None and links.release(owner, pending, link):
                released.append((pending.span, link))
        links.forget_if_empty(owner, pendings)
    for span, link in released:
        links.emit(span, link)
    return len(released)


class Sweeper:
    """The sweep as the runtime's hooks: `tick` (every wake-up of the sender thread: a pass
    every 0.2 s while spans wait) and `final` (at exit: everything still waiting goes)."""

    def __init__(self, links: SpanLinks, settings: Settings) -> None:
        self._links = links
        self._settings = settings
        self._next = 0.0

    def tick(self) -> None:
        if self._links.waiting() and time.monotonic() >= self._next:
            self._next = time.monotonic() + _SWEEP_EVERY
            sweep(self._links, self._settings.trace_link_timeout, self._settings.max_queue_size)

    def final(self) -> None:
        sweep(self._links, self._settings.trace_link_timeout, 0, final=True)
