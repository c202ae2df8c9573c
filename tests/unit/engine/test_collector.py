"""BatchCollector: what survives a batch is frozen, and garbage cycles are still freed in time."""

from __future__ import annotations

import gc
import weakref

import pytest

from phospho_stream.engine.collector import BatchCollector


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
