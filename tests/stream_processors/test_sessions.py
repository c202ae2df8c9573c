"""Session-window rules: the incremental state, fed events in any order with re-deliveries and
updates, must leave storage (upserts and tombstones applied to a dict) equal to a plain batch
sessionization of the final task set."""

from __future__ import annotations

import random

import pytest

from phospho_stream.sessions import (
    DEFAULT_GAP_MS,
    KeyWindows,
    TaskPoint,
    add_task,
    session_key,
    update_task,
    window_row,
)

MIN = 60_000


def batch_sessions(tasks: list[TaskPoint], key: str, gap_ms: int) -> dict[str, dict]:
    """The obvious definition: sort by time, cut where the gap exceeds the timeout."""
    points = sorted(tasks, key=lambda t: (t.at_ms, t.task_id))
    groups: list[list[TaskPoint]] = []
    for point in points:
        if groups and point.at_ms - groups[-1][-1].at_ms <= gap_ms:
            groups[-1].append(point)
        else:
            groups.append([point])
    out = {}
    for group in groups:
        first, last = group[0], group[-1]
        users = [t.user_id for t in group if t.user_id]
        out[f"{key}|{first.task_id}"] = {
            "session_id": first.session_id, "start_ms": first.at_ms, "end_ms": last.at_ms,
            "duration_ms": last.at_ms - first.at_ms, "task_count": len(group), "first_input": first.input,
            "last_input": last.input, "total_tokens": sum(t.tokens for t in group),
            "success_count": sum(t.flag == "success" for t in group),
            "failure_count": sum(t.flag == "failure" for t in group), "user_id": users[-1] if users else None,
        }
    return out


def apply(store: dict[str, dict], state: KeyWindows, upserts, removed) -> None:
    for window_id in removed:
        store.pop(window_id, None)
    for window in upserts:
        row = window_row(state, window)
        assert row["version"] > store.get(row["window_id"], {"version": -1})["version"]
        store[row["window_id"]] = row


def comparable(store: dict[str, dict]) -> dict[str, dict]:
    keep = ("session_id", "start_ms", "end_ms", "duration_ms", "task_count", "first_input", "last_input",
            "total_tokens", "success_count", "failure_count", "user_id")
    return {wid: {k: row[k] for k in keep} for wid, row in store.items()}


def test_key_rules():
    assert session_key("chat-1", False, "bob", "t1") == "s:chat-1"
    assert session_key("session_abc", True, "bob", "t1") == "u:bob"
    assert session_key("session_abc", True, None, "t1") == "t:t1"
    assert session_key("session_abc", True, "", "t1") == "t:t1"


def test_a_chat_resumed_the_next_day_is_a_new_window():
    state, store = KeyWindows("s:chat"), {}
    day = 24 * 60 * MIN
    for i, at in enumerate([0, 5 * MIN, 12 * MIN, day, day + MIN]):
        apply(store, state, *add_task(state, TaskPoint(f"t{i}", at, f"q{i}", "chat", "bob", tokens=10)))
    rows = sorted(store.values(), key=lambda r: r["start_ms"])
    assert [(r["task_count"], r["duration_ms"], r["first_input"], r["last_input"]) for r in rows] == [
        (3, 12 * MIN, "q0", "q2"), (2, MIN, "q3", "q4")]
    assert all(r["session_id"] == "chat" and r["total_tokens"] == 10 * r["task_count"] for r in rows)


def test_exactly_the_timeout_stays_one_window_and_one_ms_more_splits():
    state, store = KeyWindows("s:x"), {}
    for i, at in enumerate([0, DEFAULT_GAP_MS, 2 * DEFAULT_GAP_MS + 1]):
        apply(store, state, *add_task(state, TaskPoint(f"t{i}", at, "q", "x")))
    assert sorted(r["task_count"] for r in store.values()) == [1, 2]


def test_a_late_task_bridging_two_windows_merges_them_and_tombstones_one():
    state, store = KeyWindows("u:ann"), {}
    apply(store, state, *add_task(state, TaskPoint("a", 0, "first", "s1", "ann")))
    apply(store, state, *add_task(state, TaskPoint("c", 50 * MIN, "third", "s3", "ann")))
    assert len(store) == 2
    upserts, removed = add_task(state, TaskPoint("b", 25 * MIN, "second", "s2", "ann"))
    assert removed == ["u:ann|c"]
    apply(store, state, upserts, removed)
    (row,) = store.values()
    assert (row["window_id"], row["task_count"], row["first_input"], row["last_input"]) == ("u:ann|a", 3, "first", "third")


def test_a_late_task_earlier_than_the_window_renames_it():
    state, store = KeyWindows("s:z"), {}
    apply(store, state, *add_task(state, TaskPoint("later", 10 * MIN, "second", "z")))
    upserts, removed = add_task(state, TaskPoint("earlier", 0, "first", "z"))
    assert removed == ["s:z|later"]
    apply(store, state, upserts, removed)
    assert list(store) == ["s:z|earlier"] and store["s:z|earlier"]["first_input"] == "first"


def test_redelivery_changes_nothing_and_feedback_counts_once():
    state, store = KeyWindows("s:r"), {}
    task = TaskPoint("t", 0, "q", "r", "u", tokens=5)
    apply(store, state, *add_task(state, task))
    assert add_task(state, task) == ([], [])
    apply(store, state, update_task(state, "t", flag="failure"), [])
    assert update_task(state, "t", flag="failure") == []
    apply(store, state, *add_task(state, task))  # the task again: keeps its feedback
    assert store["s:r|t"]["failure_count"] == 1
    apply(store, state, update_task(state, "t", flag="success"), [])
    assert (store["s:r|t"]["success_count"], store["s:r|t"]["failure_count"]) == (1, 0)
    assert update_task(state, "unknown-task", flag="success") == []


@pytest.mark.parametrize("seed", range(300))
def test_incremental_equals_batch_under_any_order_duplicates_and_moves(seed):
    rng = random.Random(seed)  # 300 random histories: orders, re-deliveries, moved tasks, feedback
    gap = rng.choice([MIN, 5 * MIN, DEFAULT_GAP_MS])
    final: dict[str, TaskPoint] = {}
    arrivals: list[TaskPoint] = []
    clock = 0
    for i in range(rng.randint(1, 40)):
        clock += rng.choice([0, 1, gap // 2, gap, gap + 1, 3 * gap])
        point = TaskPoint(f"t{i:02d}", clock, f"q{i}", "sess", rng.choice([None, "u1", "u2"]), tokens=rng.randint(0, 9))
        final[point.task_id] = point
        arrivals.append(point)
    for _ in range(rng.randint(0, 10)):  # re-deliveries
        arrivals.append(rng.choice(arrivals))
    rng.shuffle(arrivals)
    for _ in range(rng.randint(0, 5)):  # a task updated with another event time (arrives last)
        moved = rng.choice(list(final.values()))
        moved = TaskPoint(moved.task_id, max(0, moved.at_ms + rng.choice([-2 * gap, -gap, gap, 4 * gap])), moved.input,
                          moved.session_id, moved.user_id, moved.tokens)
        final[moved.task_id] = moved
        arrivals.append(moved)
    flags = {}
    state, store = KeyWindows("s:sess"), {}
    for point in arrivals:
        apply(store, state, *add_task(state, point, gap))
        if rng.random() < 0.2:
            flag = rng.choice(["success", "failure"])
            flags[point.task_id] = flag
            apply(store, state, update_task(state, point.task_id, flag=flag), [])
    expected = batch_sessions([TaskPoint(t.task_id, t.at_ms, t.input, t.session_id, t.user_id, t.tokens,
                                         flags.get(t.task_id)) for t in final.values()], "s:sess", gap)
    assert comparable(store) == expected
