"""Span/feedback -> task joins: any arrival order, re-deliveries and expiry, written through
versioned rows, must leave storage as if everything had arrived together."""

from __future__ import annotations

import random

import pytest

from phospho_stream.joins import TaskJoin, expire, on_feedback, on_span, on_task, span_summary

GRACE = 1_000


def span(i: int, op: str | None = "chat", model: str = "gpt-4o-mini", start: int = 0, dur: int = 100) -> dict:
    return {"event_id": f"s{i}", "span_id": f"{i:016x}", "task_id": "t", "operation": op, "provider": None,
            "response_model": model, "request_model": None, "input_tokens": 10 * i, "output_tokens": i,
            "start_time": start, "end_time": start + dur, "session_id": None, "user_id": None}


def feedback(i: int, flag: str = "success") -> dict:
    return {"event_id": f"f{i}", "task_id": "t", "flag": flag, "session_id": None, "user_id": None}


TASK = {"event_id": "e1", "task_id": "t", "session_id": "chat-1", "user_id": "ann", "input": "q", "sent_at": 10}


class Store:
    """ReplacingMergeTree(version) in miniature: the newest version per row id wins."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict] = {}

    def write(self, rows) -> None:
        for kind, items, key in (("task", rows.tasks, "task_id"), ("span", rows.spans, "event_id"),
                                 ("feedback", rows.feedback, "event_id")):
            for row in items:
                old = self.rows.get((kind, row[key]))
                assert old is None or row["version"] > old["version"], (kind, row, old)
                self.rows[(kind, row[key])] = row

    def of(self, kind: str) -> dict[str, dict]:
        return {k[1]: v for k, v in self.rows.items() if k[0] == kind}


def test_summary_of_spans():
    spans = [span(1, start=0, dur=100), span(2, model="claude", start=50, dur=200), span(3, op=None, model="", start=0, dur=999)]
    assert span_summary(spans) == {
        "span_count": 3, "llm_call_count": 2, "span_models": ["claude", "gpt-4o-mini"], "span_input_tokens": 60,
        "span_output_tokens": 6, "llm_latency_ms": 300, "llm_wall_ms": 250}
    assert span_summary([])["llm_wall_ms"] == 0


def test_spans_before_their_task_wait_then_are_linked():
    join, store = TaskJoin("t", 0), Store()
    store.write(on_span(join, span(1)))
    assert not store.rows
    store.write(on_task(join, TASK))
    assert store.of("task")["t"]["span_count"] == 1
    assert store.of("span")["s1"]["session_id"] == "chat-1" and store.of("span")["s1"]["orphan"] is False


def test_orphans_after_the_grace_period_then_linked_if_the_task_comes():
    join, store = TaskJoin("t", 0), Store()
    store.write(on_span(join, span(1)))
    store.write(on_feedback(join, feedback(1)))
    store.write(expire(join, GRACE - 1, GRACE))
    assert not store.rows  # still within the grace period
    store.write(expire(join, GRACE, GRACE))
    assert store.of("span")["s1"]["orphan"] and store.of("feedback")["f1"]["orphan"]
    store.write(on_span(join, span(2)))  # late span of a still-missing task: written at once
    assert store.of("span")["s2"]["orphan"]
    store.write(on_task(join, TASK))
    assert {k: (v["orphan"], v["user_id"]) for k, v in store.of("span").items()} == {"s1": (False, "ann"), "s2": (False, "ann")}
    assert store.of("feedback")["f1"]["session_id"] == "chat-1"
    assert store.of("task")["t"]["span_count"] == 2


def test_older_event_of_a_task_does_not_replace_the_newer():
    join = TaskJoin("t", 0)
    on_task(join, {**TASK, "event_id": "new", "sent_at": 20, "output": "full"})
    assert not on_task(join, {**TASK, "event_id": "old", "sent_at": 10, "output": "partial"})
    assert join.task["output"] == "full"


@pytest.mark.parametrize("seed", range(200))
def test_any_order_with_redelivery_and_expiry_ends_as_if_all_came_together(seed):
    rng = random.Random(seed)
    spans = [span(i, op=rng.choice(["chat", None]), model=rng.choice(["a", "b"]), start=rng.randint(0, 500),
                  dur=rng.randint(0, 300)) for i in range(rng.randint(0, 6))]
    feedbacks = [feedback(i, rng.choice(["success", "failure"])) for i in range(rng.randint(0, 3))]
    task_arrives = rng.random() < 0.8
    events = [("span", s) for s in spans] + [("feedback", f) for f in feedbacks] + ([("task", TASK)] if task_arrives else [])
    events += [rng.choice(events) for _ in range(rng.randint(0, 4))] if events else []
    rng.shuffle(events)
    join, store, now = TaskJoin("t", 0), Store(), 0
    for kind, event in events:
        now += rng.choice([0, 100, GRACE // 2, GRACE])
        store.write({"span": on_span, "feedback": on_feedback, "task": on_task}[kind](join, event))
        store.write(expire(join, now, GRACE))
    store.write(expire(join, now + GRACE, GRACE))
    linked = task_arrives
    assert set(store.of("span")) == {s["event_id"] for s in spans}
    assert set(store.of("feedback")) == {f["event_id"] for f in feedbacks}
    for row in [*store.of("span").values(), *store.of("feedback").values()]:
        assert row["orphan"] is (not linked)
        assert row["session_id"] == ("chat-1" if linked else None)
    if linked:
        latest = max(feedbacks, key=lambda f: (f.get("created_at") or 0, f["event_id"]), default=None)
        assert store.of("task")["t"] == {**TASK, **span_summary(spans), "feedback_flag": latest and latest["flag"],
                                         "feedback_notes": latest and latest.get("notes"),
                                         "version": store.of("task")["t"]["version"]}
    else:
        assert "t" not in store.of("task")
