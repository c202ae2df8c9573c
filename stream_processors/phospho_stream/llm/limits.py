"""How hard the endpoint is asked: at most `max_concurrency` calls in flight, calls started at
most `requests_per_minute` a minute (evenly spaced), and none while a Retry-After runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["Limiter"]


class Limiter:
    def __init__(self, max_concurrency: int, requests_per_minute: float | None = None) -> None:
        self._slots = asyncio.Semaphore(max_concurrency)
        self._spacing = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._next_start = 0.0
        self._paused_until = 0.0
        self._start_lock = asyncio.Lock()
        self.in_flight = 0

    def pause(self, seconds: float) -> None:
        """No call starts for `seconds` (the endpoint said Retry-After)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - time.monotonic())

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a free slot and for the call's turn, then hold the slot while the call runs."""
        async with self._slots:
            async with self._start_lock:  # starts are spaced in the order they asked
                while True:
                    now = time.monotonic()
                    wait = max(self._paused_until, self._next_start) - now
                    if wait <= 0:
                        break
                    await asyncio.sleep(wait)
                self._next_start = max(now, self._next_start) + self._spacing
            self.in_flight += 1
            try:
                yield
            finally:
                self.in_flight -= 1
