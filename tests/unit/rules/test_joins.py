"""Join rules: a task, its spans and its feedback in any order, seen once or again, end with the
same task columns (the partial rows merged as storage merges them), and feedback that waited
for a task that never came is handed back after the horizon."""

from __future__ import annotations

import random

import pytest

from phospho_stream.rules.joins import TaskFacts, expire, on_feedback, on_span, on_task

DAY = 86_400_000


def task(task_id="t1", event_id="e1", sent_at=100, session_id="chat", generated=False, user_id="ann", tokens=None,
         text="Where is my order?"):
    return {"event_id": event_id, "project_id": "p", "task_id": task_id, "session_id": session_id,
            "session_id_generated": generated, "user_id": user_id, "created_at": 1_000, "client_created_at": 1_000,
            "sent_at": sent_at, "input": text, "output": "On its way.", "total_tokens": tokens, "model": "gpt-4o",
            "prompt_tokens": 10, "completion_tokens": 5, "metadata": {"k": "v"}, "errors": []}


def span(event_id, task_id="t1", model="gpt-4o", inp=100, out=20, start=1_000, end=1_400, llm=True):
    return {"event_id": event_id, "task_id": task_id, "operation": "chat" if llm else None, "provider": None,
            "response_model": model, "input_tokens": inp, "output_tokens": out, "start_time": start, "end_time": end,
            "duration_us": None}


def feedback(event_id, flag="success", notes=None, at=2_000, task_id="t1"):
    return {"event_id": event_id, "task_id": task_id, "flag": flag, "notes": notes, "created_at": at}


def merged(rows):
    """What storage keeps of a task's partial rows: each column's last non-NULL value."""
    out = {}
    for row in rows:
        out.update({k: v for k, v in row.items() if v is not None})
    return out


def test_task_then_span_then_feedback():
    facts = TaskFacts("t1", 0)
    out = on_task(facts, task())
    (row,) = out.tasks
    assert (row["session_key"], row["input"], row["metadata"]) == ("s:chat", "Where is my order?", '{"k":"v"}')
    assert out.points[0]["k"] == "s:chat" and out.points[0]["p"] == "Where is my order?"
    assert out.analysis[0]["input"] == "Where is my order?" and out.analysis[0]["kind"] == "task"
    out = on_span(facts, span("s1"), {"event_id": "s1"})
    assert out.tasks[0]["span_count"] == 1 and out.tasks[0]["llm_latency_ms"] == 400
    assert out.points[0]["tok"] == 120  # no tokens logged: its steps' count
    assert out.analysis[0]["kind"] == "usage" and out.analysis[0]["span_usage"] == {"gpt-4o": [100, 20, 0]}
    out = on_feedback(facts, feedback("f1", notes="great"), {"event_id": "f1"}, [7, "AAA="])
    assert out.feedback[0]["orphan"] is False and out.feedback[0]["session_id"] == "chat"
    assert out.tasks[0] == {"task_id": "t1", "feedback_flag": "success", "feedback_at_ms": 2_000, "feedback_notes": "great"}
    assert out.points[0]["f"] == "success"


def test_feedback_before_its_task_is_an_orphan_then_linked():
    facts = TaskFacts("t1", 0)
    out = on_feedback(facts, feedback("f1"), {"event_id": "f1"}, [3, "AAA="])
    assert out.feedback[0]["orphan"] is True and out.points == []
    assert out.tasks == [{"task_id": "t1", "feedback_flag": "success", "feedback_at_ms": 2_000}]
    out = on_task(facts, task())
    assert out.feedback == [{"event_id": "f1", "session_id": "chat", "user_id": "ann", "orphan": False}]
    assert out.points[0]["f"] == "success"  # the session counts the flag that waited
    assert expire(facts, 30 * DAY, 7 * DAY) is None


def test_a_task_that_never_comes_hands_its_feedback_back_after_the_horizon():
    facts = TaskFacts("ghost", first_seen_ms=0)
    on_feedback(facts, feedback("f1", task_id="ghost"), {"event_id": "f1"}, [42, "AAA="])
    assert expire(facts, 7 * DAY - 1, 7 * DAY) is None
    assert expire(facts, 7 * DAY, 7 * DAY) == [("f1", [42, "AAA="])]


def test_events_seen_again_and_older_events_change_nothing():
    facts = TaskFacts("t1", 0)
    on_task(facts, task(event_id="new", sent_at=200))
    assert not on_task(facts, task(event_id="new", sent_at=200)).tasks
    assert not on_task(facts, task(event_id="old", sent_at=100)).tasks
    on_span(facts, span("s1"), {})
    assert not on_span(facts, span("s1"), {}).tasks
    on_feedback(facts, feedback("f1"), {}, [0, ""])
    assert not on_feedback(facts, feedback("f1"), {}, [0, ""]).tasks


def test_the_latest_feedback_wins_whatever_the_order():
    facts = TaskFacts("t1", 0)
    on_task(facts, task())
    on_feedback(facts, feedback("f2", "failure", at=3_000), {}, [0, ""])
    out = on_feedback(facts, feedback("f1", "success", at=2_000), {}, [0, ""])
    assert out.tasks == [] and facts.flag == "failure"


def test_a_task_logged_again_under_another_session_leaves_the_old_one():
    facts = TaskFacts("t1", 0)
    on_task(facts, task(event_id="a", sent_at=1))
    out = on_task(facts, task(event_id="b", sent_at=2, session_id="other"))
    assert [p["k"] for p in out.points] == ["s:chat", "s:other"] and out.points[0]["rm"] is True


@pytest.mark.parametrize("seed", range(100))
def test_any_order_with_redelivery_ends_with_the_same_task_columns(seed):
    rng = random.Random(seed)
    events = [("task", task())] + [("span", span(f"s{i}", model=rng.choice(["a", "b"]), inp=rng.randint(0, 50)))
                                   for i in range(rng.randint(0, 5))]
    events += [("feedback", feedback(f"f{i}", rng.choice(["success", "failure"]), at=rng.randint(0, 9_999)))
               for i in range(rng.randint(0, 4))]

    def play(order):
        facts, rows = TaskFacts("t1", 0), []
        for kind, record in order:
            if kind == "task":
                out = on_task(facts, record)
            elif kind == "span":
                out = on_span(facts, record, {})
            else:
                out = on_feedback(facts, record, {}, [0, ""])
            rows += out.tasks
        return merged(rows), facts.tokens, facts.flag

    expected = play(events)
    shuffled = events + rng.sample(events, k=min(3, len(events)))
    rng.shuffle(shuffled)
    assert play(shuffled) == expected
