"""The core stage's engine against the real broker and chDB, without faust: events in any order
and from any process become exact rows in the views; poison becomes dead letters; a restarted
engine reads its state back and a batch delivered again changes nothing."""

from __future__ import annotations

import pytest

from phospho_schemas import Topics
from phospho_sinks import migrate
from phospho_stream.engine.core import CoreEngine
from phospho_stream.settings import WorkerSettings

from tests.support.events import MIN, feedback, span, task
from tests.support.stage import Feeder, produce, sink_all

pytestmark = pytest.mark.integration


def run(settings: WorkerSettings, events, engine: CoreEngine | None = None) -> CoreEngine:
    topics = Topics(settings.topic_prefix)
    engine = engine or CoreEngine(settings)
    engine.ensure_topics()
    produce(settings.bootstrap, topics, events)
    feeder = Feeder(settings.bootstrap, list(topics.core_inputs()))
    try:
        feeder.drain(engine.process)
    finally:
        feeder.close()
    return engine


def test_events_in_any_order_from_any_process_become_exact_views(settings, chdb_store):
    migrate(chdb_store)
    tag = settings.topic_prefix  # the store is the test session's: ids of this test only
    events = [
        feedback(f"{tag}t2", "failure", at=6 * MIN),  # before its task, as from another process
        span(f"{tag}s-early", f"{tag}t1"),
        task(f"{tag}t1", 0, session=tag, user=tag),
        task(f"{tag}t2", 5 * MIN, session=tag, user=tag),
        feedback(f"{tag}t1", "success", at=MIN),
        task(f"{tag}t0", -10 * MIN, session=tag, user=tag),  # late: earlier than the window's first task
        span(f"{tag}s-late", f"{tag}t1", model="gpt-4o"),
        task(f"{tag}t9", 300 * MIN, session=tag, user=tag),  # a gap longer than the timeout: a new window
        span(f"{tag}s-orphan", None),
    ]
    engine = run(settings, events)
    engine.close()
    sink_all(settings.bootstrap, chdb_store, Topics(settings.topic_prefix))
    mine = {"t": f"{tag}%"}
    rows = chdb_store.query("SELECT task_id, session_window_id, span_count, span_models, feedback_flag, total_tokens "
                            "FROM phospho.tasks WHERE task_id LIKE {t:String} ORDER BY task_id", mine).rows
    w0, w9 = f"s:{tag}|{tag}t0", f"s:{tag}|{tag}t9"
    assert rows == [(f"{tag}t0", w0, 0, [], None, 10), (f"{tag}t1", w0, 2, ["gpt-4o", "gpt-4o-mini"], "success", 10),
                    (f"{tag}t2", w0, 0, [], "failure", 10), (f"{tag}t9", w9, 0, [], None, 10)]
    sessions = chdb_store.query("SELECT window_id, task_count, success_count, failure_count, first_input, last_input "
                                "FROM phospho.sessions WHERE session_id = {s:String} ORDER BY window_id", {"s": tag}).rows
    assert sessions == [(w0, 3, 1, 1, f"q {tag}t0", f"q {tag}t2"), (w9, 1, 0, 0, f"q {tag}t9", f"q {tag}t9")]
    feedback_rows = chdb_store.query("SELECT task_id, flag, session_id, orphan FROM phospho.feedback "
                                     "WHERE task_id LIKE {t:String} ORDER BY task_id", mine).rows
    assert feedback_rows == [(f"{tag}t1", "success", tag, False), (f"{tag}t2", "failure", tag, False)]
    spans = chdb_store.query("SELECT span_event_id, orphan FROM phospho.spans WHERE span_event_id LIKE {t:String} "
                             "ORDER BY span_event_id", mine).rows
    assert spans == [(f"{tag}s-early", False), (f"{tag}s-late", False), (f"{tag}s-orphan", True)]


def test_poison_is_dead_lettered_and_a_restarted_engine_changes_nothing_on_redelivery(settings, chdb_store):
    topics = Topics(settings.topic_prefix)
    engine = CoreEngine(settings)
    engine.ensure_topics()
    good = [task("a", 0), feedback("a", "success")]
    messages = [(topics.for_kind(kind), 0, i, key.encode(), value) for i, (kind, key, value) in enumerate(good)]
    poison = [(topics.spans, 0, 7, b"k", b"\x00\x00\x00\x00\x07 a registry id nobody knows"),
              (topics.tasks, 1, 3, None, None)]
    result = engine.process(messages + poison, 1_000)
    assert (result["events"], result["dead_letters"]) == (4, 2) and result["rows"] >= 3
    engine.close()
    again = CoreEngine(settings)  # a restart: the state comes back from the changelog
    assert again.process(messages, 2_000)["rows"] == 0
    assert set(again.joins[0].facts) == {"a"} and again.joins[0].facts["a"].flag == "success"
    again.close()
