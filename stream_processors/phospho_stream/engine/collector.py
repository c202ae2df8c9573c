"""The garbage collector's settings for a stage worker's process, set once it has loaded what it keeps.

A batch allocates millions of short-lived objects (decoded records, texts, rows). With CPython's
default thresholds the collector runs every 700 allocations and its older generations rescan
everything the process keeps: the rules' lexicons and price tables, the config, the session
histories. For the analytics stage that was ~30 % of its CPU. What is loaded at start is frozen
out of collections, and the youngest generation is collected every YOUNG_THRESHOLD allocations.
The stages make few reference cycles: nothing waits long to be freed.
"""

from __future__ import annotations

import gc

__all__ = ["settle", "YOUNG_THRESHOLD"]

YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Freeze what the process holds now (call it after a warm-up) and collect less often."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, young), middle, old)
