"""The few-shot pool (user feedback only, latest first, balanced, never the task judged) and the
daily budget (per UTC day, split by the partitions a worker owns)."""

from __future__ import annotations

from datetime import UTC, datetime

from phospho_stream.rules.evaluation import (
    DailyBudget,
    Example,
    ExamplePool,
    next_utc_midnight,
    utc_day,
)


def _ex(task_id: str, flag: str, at: int) -> Example:
    return Example(task_id, f"q {task_id}", f"a {task_id}", flag, at)


def test_the_pool_gives_as_many_successes_as_failures_latest_first_alternating():
    pool = ExamplePool(keep_per_flag=4)
    for i in range(4):
        pool.add(_ex(f"s{i}", "success", i))
    pool.add(_ex("f0", "failure", 10))
    pool.add(_ex("f1", "failure", 11))
    assert [e.task_id for e in pool.pick(6)] == ["s2", "f0", "s3", "f1"]
    assert [e.task_id for e in pool.pick(3)] == ["s3", "f1"]  # an odd number rounds down
    assert pool.pick(6, exclude="f1") == [_ex("s3", "success", 3), _ex("f0", "failure", 10)]


def test_one_sided_feedback_gives_no_examples_rather_than_a_biased_set():
    pool = ExamplePool(4)
    pool.add(_ex("s", "success", 1))
    assert pool.pick(6) == []


def test_the_pool_keeps_the_latest_per_flag_and_follows_changed_feedback():
    pool = ExamplePool(keep_per_flag=2)
    assert pool.add(_ex("a", "success", 1)) == []
    pool.add(_ex("b", "success", 2))
    assert [e.task_id for e in pool.add(_ex("c", "success", 3))] == ["a"]
    pool.add(_ex("b", "failure", 4))  # the user changed their mind: b moves to the failures
    assert sorted((e.task_id, e.flag) for e in pool.examples()) == [("b", "failure"), ("c", "success")]
    assert pool.remove("c") is not None and "c" not in pool


def test_the_budget_counts_per_utc_day_and_splits_the_allowance_by_partitions_owned():
    noon = datetime(2025, 3, 24, 12, tzinfo=UTC).timestamp()
    budget = DailyBudget(1.0, partitions=4)
    budget.add(0, noon, 0.3)
    budget.add(1, noon, 0.3)
    assert budget.spent(noon) == 0.6 and budget.spent(noon, {0}) == 0.3
    assert not budget.exhausted(noon, {0, 1, 2, 3})
    assert budget.exhausted(noon, {0, 1})  # two partitions of four: $0.5, $0.6 spent on them
    assert budget.exhausted(noon, {0, 1, 2, 3}, in_flight_usd=0.4)
    tomorrow = next_utc_midnight(noon)
    assert utc_day(tomorrow) == "2025-03-25" and utc_day(tomorrow - 1) == "2025-03-24"
    assert budget.spent(tomorrow) == 0 and not budget.exhausted(tomorrow, {0, 1})
    assert sorted(budget.take_dirty()) == [(0, "2025-03-24", 0.3), (1, "2025-03-24", 0.3)]
    assert budget.old_days(tomorrow + 86_400) == [(0, "2025-03-24"), (1, "2025-03-24")]


def test_no_budget_is_never_exhausted():
    assert not DailyBudget(None, 4).exhausted(0.0, {0}, in_flight_usd=1e9)
