"""Row versions that only grow, across restarts too: microseconds of wall time, or one more."""

from __future__ import annotations

import time

__all__ = ["VersionClock"]


class VersionClock:
    """A hybrid clock: each version is the current time in microseconds, or the previous one
    plus one if the clock has not moved. A restarted stage starts above what it wrote before
    (unless the system clock went back), so the rows it writes again win in storage."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(self._last + 1, time.time_ns() // 1000)
        return self._last
