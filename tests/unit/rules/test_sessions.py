"""Session-window rules: fed tasks in any order, with re-deliveries and new figures, the rows they
emit (upserts and tombstones applied to a dict) equal a plain batch sessionization of the final
tasks, running sums included."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from phospho_stream.rules.sessions import (
    DEFAULT_GAP_MS,
    KeyWindows,
    Point,
    add_task,
    moved_tasks,
    session_key,
    window_row,
)

MIN = 60_000


class Store:
    """What storage keeps of the rows: the newest version of each window id, tombstones applied."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self.version = 0

    def apply(self, state: KeyWindows, upserts, removed) -> None:
        for window_id in removed:
            self.rows.pop(window_id, None)
        for window in upserts:
            self.version += 1
            row = window_row(state, window, self.version)
            self.rows[row["window_id"]] = row


def batch_sessions(points: list[Point], key: str, gap_ms: int) -> dict[str, dict]:
    """The obvious definition: sort by time, cut where the gap exceeds the timeout."""
    groups: list[list[Point]] = []
    for point in sorted(points, key=lambda p: (p.at_ms, p.task_id)):
        if groups and point.at_ms - groups[-1][-1].at_ms <= gap_ms:
            groups[-1].append(point)
        else:
            groups.append([point])
    out = {}
    for group in groups:
        first, last = group[0], group[-1]
        users = [p.user_id for p in group if p.user_id]
        sentiments = [p.sentiment for p in group if p.sentiment is not None]
        out[f"{key}|{first.task_id}"] = {
            "session_id": first.session_id, "start_ms": first.at_ms, "end_ms": last.at_ms,
            "duration_ms": last.at_ms - first.at_ms, "task_count": len(group), "first_input": first.preview,
            "last_input": last.preview, "total_tokens": sum(p.tokens for p in group),
            "success_count": sum(p.flag == "success" for p in group),
            "failure_count": sum(p.flag == "failure" for p in group), "user_id": users[-1] if users else None,
            "languages": dict(Counter(p.language for p in group if p.language)),
            "sentiment_count": len(sentiments), "sentiment_min": min(sentiments) if sentiments else None,
            "event_counts": dict(Counter(e for p in group for e in p.events)),
        }
    return out


def comparable(rows: dict[str, dict]) -> dict[str, dict]:
    keep = ("session_id", "start_ms", "end_ms", "duration_ms", "task_count", "first_input", "last_input",
            "total_tokens", "success_count", "failure_count", "user_id", "languages", "sentiment_count",
            "sentiment_min", "event_counts")
    return {wid: {k: row[k] for k in keep} for wid, row in rows.items()}


def test_key_rules():
    assert session_key("chat-1", False, "bob", "t1") == "s:chat-1"
    assert session_key("session_abc", True, "bob", "t1") == "u:bob"
    assert session_key("session_abc", True, None, "t1") == "t:t1"
    assert session_key("session_abc", True, "", "t1") == "t:t1"


def test_a_chat_resumed_the_next_day_is_a_new_window():
    state, store = KeyWindows("s:chat"), Store()
    day = 24 * 60 * MIN
    for i, at in enumerate([0, 5 * MIN, 12 * MIN, day, day + MIN]):
        store.apply(state, *add_task(state, Point(f"t{i}", at, "chat", "bob", f"q{i}", tokens=10)))
    rows = sorted(store.rows.values(), key=lambda r: r["start_ms"])
    assert [(r["task_count"], r["duration_ms"], r["first_input"], r["last_input"]) for r in rows] == [
        (3, 12 * MIN, "q0", "q2"), (2, MIN, "q3", "q4")]
    assert all(r["session_id"] == "chat" and r["total_tokens"] == 10 * r["task_count"] for r in rows)


def test_exactly_the_timeout_stays_one_window_and_one_ms_more_splits():
    state, store = KeyWindows("s:x"), Store()
    for i, at in enumerate([0, DEFAULT_GAP_MS, 2 * DEFAULT_GAP_MS + 1]):
        store.apply(state, *add_task(state, Point(f"t{i}", at, "x")))
    assert sorted(r["task_count"] for r in store.rows.values()) == [1, 2]


def test_a_late_task_bridging_two_windows_merges_them_and_tombstones_one():
    state, store = KeyWindows("u:ann"), Store()
    store.apply(state, *add_task(state, Point("a", 0, "s1", "ann", "first")))
    store.apply(state, *add_task(state, Point("c", 50 * MIN, "s3", "ann", "third")))
    assert len(store.rows) == 2
    upserts, removed = add_task(state, Point("b", 25 * MIN, "s2", "ann", "second"))
    assert removed == ["u:ann|c"]
    store.apply(state, upserts, removed)
    (row,) = store.rows.values()
    assert (row["window_id"], row["task_count"], row["first_input"], row["last_input"]) == ("u:ann|a", 3, "first", "third")
    assert sorted(moved_tasks(state, upserts[0], "b", merged=True)) == ["a", "b", "c"]


def test_a_late_task_earlier_than_the_window_renames_it_and_its_tasks_are_told():
    state, store = KeyWindows("s:z"), Store()
    upserts, removed = add_task(state, Point("later", 10 * MIN, "z", None, "second"))
    assert moved_tasks(state, upserts[0], "later", merged=False) == ["later"]
    upserts, removed = add_task(state, Point("earlier", 0, "z", None, "first"))
    assert removed == ["s:z|later"]
    store.apply(state, upserts, removed)
    assert list(store.rows) == ["s:z|earlier"] and store.rows["s:z|earlier"]["first_input"] == "first"
    assert sorted(moved_tasks(state, upserts[0], "earlier", merged=False)) == ["earlier", "later"]
    upserts, _ = add_task(state, Point("third", 11 * MIN, "z"))
    assert moved_tasks(state, upserts[0], "third", merged=False) == ["third"]  # the others keep their window


def test_a_point_seen_again_changes_nothing_and_new_figures_update_in_place():
    state, store = KeyWindows("s:r"), Store()
    point = Point("t", 0, "r", "u", "q", tokens=5)
    store.apply(state, *add_task(state, point))
    assert add_task(state, point) == ([], [])
    store.apply(state, *add_task(state, point._replace(flag="failure")))
    assert store.rows["s:r|t"]["failure_count"] == 1
    store.apply(state, *add_task(state, point._replace(flag="success", language="fr", sentiment=-0.5,
                                                        events=("refund",), cost_usd=0.25, analyzed=True)))
    row = store.rows["s:r|t"]
    assert (row["success_count"], row["failure_count"], row["languages"], row["sentiment_min"]) == (1, 0, {"fr": 1}, -0.5)
    assert (row["event_counts"], row["cost_usd"], row["analyzed_count"]) == ({"refund": 1}, 0.25, 1)


def test_running_sums_cost_what_a_change_changes_in_a_window_of_twenty_thousand_tasks():
    state = KeyWindows("u:heavy")
    for i in range(20_000):
        add_task(state, Point(f"t{i:05d}", i * 1000, "s", "heavy", "q", tokens=1, sentiment=0.1))
    (window,) = state.windows
    assert (len(window.tasks), window.tokens, window.sentiment_count) == (20_000, 20_000, 20_000)
    add_task(state, window.tasks["t00000"]._replace(sentiment=-0.9))
    assert window.min_sentiment == -0.9 and window.first.task_id == "t00000"


@pytest.mark.parametrize("seed", range(300))
def test_incremental_equals_batch_under_any_order_duplicates_and_moves(seed):
    rng = random.Random(seed)  # 300 random histories: orders, re-deliveries, moved tasks, new figures
    gap = rng.choice([MIN, 5 * MIN, DEFAULT_GAP_MS])
    final: dict[str, Point] = {}
    arrivals: list[Point] = []
    clock = 0
    for i in range(rng.randint(1, 40)):
        clock += rng.choice([0, 1, gap // 2, gap, gap + 1, 3 * gap])
        point = Point(f"t{i:02d}", clock, "sess", rng.choice([None, "u1", "u2"]), f"q{i}", tokens=rng.randint(0, 9))
        final[point.task_id] = point
        arrivals.append(point)
    for _ in range(rng.randint(0, 10)):  # re-deliveries
        arrivals.append(rng.choice(arrivals))
    rng.shuffle(arrivals)
    arrivals = [final[p.task_id] if rng.random() < 0.5 else p for p in arrivals]  # later arrivals are final ones
    for _ in range(rng.randint(0, 5)):  # a task updated with another event time (arrives last)
        moved = rng.choice(list(final.values()))
        moved = moved._replace(at_ms=max(0, moved.at_ms + rng.choice([-2 * gap, -gap, gap, 4 * gap])))
        final[moved.task_id] = moved
        arrivals.append(moved)
    for task_id in rng.sample(sorted(final), k=min(len(final), rng.randint(0, 8))):  # new figures, in place
        point = final[task_id]._replace(flag=rng.choice(["success", "failure"]), language=rng.choice(["en", "fr"]),
                                        sentiment=rng.choice([-0.8, 0.0, 0.6]), events=("refund",), analyzed=True)
        final[task_id] = point
        arrivals.append(point)
    state, store = KeyWindows("s:sess"), Store()
    for point in arrivals:
        store.apply(state, *add_task(state, point, gap))
    for point in final.values():  # whatever the order, the last word is the final figures
        store.apply(state, *add_task(state, point, gap))
    assert comparable(store.rows) == batch_sessions(list(final.values()), "s:sess", gap)
