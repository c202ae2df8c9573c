"""A worker's process settles its garbage collector: what it holds is frozen, young objects are
collected less often."""

from __future__ import annotations

import gc

from phospho_stream.engine.collector import YOUNG_THRESHOLD, settle


def test_settle_freezes_what_is_held_and_raises_the_young_threshold():
    before = gc.get_threshold()
    kept = [{"lexicon": i} for i in range(1000)]
    try:
        settle()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold() == (max(YOUNG_THRESHOLD, before[0]), before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
