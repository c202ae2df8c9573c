"""The sender thread's pass over spans still waiting for a log (`_span_links`), every 0.2 s.

A span whose execution context never logs (the thread or asyncio task has ended, or
`trace_link_timeout` passed since the span ended) follows its parent span when that one got a
task. Else it goes to the first `phospho.log` after its end, in any thread, within the timeout
(timestamps, as phospho does: link_method "auto_time"). Else it is sent unlinked, and storage
keeps it as an orphan. The spans of a tracer block wait for the block's log or its end, however
long it runs. More waiting spans than `limit` (the queue size), or the final pass at exit,
release everything at once (a block's spans then go under its own session).
"""

from __future__ import annotations

import bisect
from time import time_ns
from typing import Any

from . import _span_links as links
from ._span_links import Link, Pending

__all__ = ["sweep"]


def _alive(owner: tuple[Any, Any]) -> bool:
    thread, task = owner
    return thread.is_alive() and (task is None or not task.done())


def _by_parent(pending: Pending) -> Link | None:
    parent = pending.parent
    while parent is not None:
        if parent.link is not None:
            return parent.link
        parent = parent.parent
    return None


def sweep(timeout_s: float, limit: int, final: bool = False) -> int:
    """The sender thread's pass over waiting spans (see the module doc); `final` (at exit)
    releases all of them. Returns how many were released."""
    if not links._count[0]:
        return 0
    now = time_ns()
    timeout = int(timeout_s * 1e9)
    crowded = final or links._count[0] > limit
    logs = list(links._recent)
    times = [t for t, _ in logs]
    released: list[tuple[Any, Link]] = []
    with links._lock:
        owners = list(links._by_owner.items())
        held = list(links._held) if crowded else []  # a block's own spans wait for its log or its end
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
                    link = links.UNLINKED
            if link is not None:
                with links._lock:
                    if pending.link is None:
                        pending.link = link
                        pendings.remove(pending)
                        links._count[0] -= 1
                        released.append((pending.span, link))
        with links._lock:
            if not pendings and links._by_owner.get(owner) is pendings:
                del links._by_owner[owner]
    for link in held:
        with links._lock:
            spans = links._resolve(link, link.session_id or link.task_id, link.session_id, None) if link.key is None else []
        released += [(span, link) for span in spans]
    for span, link in released:
        links._emit[0](span, link)
    return len(released)


