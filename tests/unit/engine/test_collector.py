"""The collector kept off a stage's state: BatchCollector freezes what survives a batch and still frees
garbage cycles in time; settle() freezes what a worker holds and collects young objects less often."""

from __future__ import annotations

import gc
import weakref

import pytest

from phospho_stream.engine.collector import YOUNG_THRESHOLD, BatchCollector, settle


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture(autouse=True)
def _unfrozen():
    yield
    gc.unfreeze()


def _cycle() -> weakref.ref:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_objects_alive_after_a_batch_are_frozen() -> None:
    gc.unfreeze()
    BatchCollector(full_every_seconds=3600).batch_done()
    assert gc.get_freeze_count() > 0


def test_a_cycle_frozen_then_dropped_stays_until_the_full_collection() -> None:
    collector = BatchCollector(full_every_seconds=3600)
    ref = _cycle()  # garbage already, but frozen before any collection sees it
    collector.batch_done()
    gc.collect()
    assert ref() is not None
    collector.full_every_seconds = 0
    collector.batch_done()
    assert ref() is None


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
