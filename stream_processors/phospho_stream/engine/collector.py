"""Python's cyclic garbage collector kept off a stage's long-lived state.

A stage keeps hundreds of thousands of small objects (its state, the rules' lexicons and price
tables, session histories) while a batch allocates millions of short-lived ones; with CPython's
defaults every full collection traverses all that is kept (the core engine at 100k tasks: ~23 us
per task; the analytics stage: ~30 % of its CPU). Two tools:
- `settle()`, once a worker has loaded what it keeps: freeze it, and collect the youngest
  generation every YOUNG_THRESHOLD allocations (the stages make few reference cycles);
- `BatchCollector.batch_done()`, after each batch of an engine whose state grows: freeze what
  survived it, and collect everything at most every `full_every_seconds`, so garbage cycles
  among frozen objects are still freed.
"""

from __future__ import annotations

import gc
import time

__all__ = ["BatchCollector", "settle", "YOUNG_THRESHOLD"]

YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Freeze what the process holds now (call it after a warm-up) and collect less often."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, young), middle, old)


class BatchCollector:
    def __init__(self, full_every_seconds: float = 300.0) -> None:
        self.full_every_seconds = full_every_seconds
        self._last_full = time.monotonic()

    def batch_done(self) -> None:
        """Freeze what the process holds now; unfreeze and collect it all when it is time."""
        if time.monotonic() - self._last_full >= self.full_every_seconds:
            gc.unfreeze()
            gc.collect()
            self._last_full = time.monotonic()
        gc.freeze()
