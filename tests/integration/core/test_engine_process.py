"""EngineProcess: the core engine in a child process, called in order over a pipe."""

from __future__ import annotations

import pytest

from phospho_schemas import Topics
from phospho_stream.errors import EngineError
from phospho_stream.worker.engine_process import EngineProcess

from tests.support.events import task
from tests.support.kafka import consume_raw, json_rows

pytestmark = pytest.mark.integration


def test_batches_sent_back_to_back_are_applied_in_order_and_their_rows_sent(settings):
    engine = EngineProcess(settings)
    topics = Topics(settings.topic_prefix)
    try:
        engine.submit("ensure_topics").result(60)
        first = engine.submit("process", [(topics.tasks, 0, 0, b"t1", task("t1")[2])], 1_000)
        second = engine.submit("process", [(topics.tasks, 0, 1, b"t2", task("t2", at=1000)[2])], 2_000)
        assert first.result(60)["rows"] == 1
        assert second.result(60)["rows"] == 1
    finally:
        engine.close()
    rows = json_rows(consume_raw(settings.bootstrap, topics.rows("tasks"), lambda got: len(json_rows(got)) >= 2))
    assert [r["task_id"] for r in rows] == ["t1", "t2"]


def test_a_failing_call_is_an_engine_error_and_the_child_goes_on(settings):
    engine = EngineProcess(settings)
    try:
        with pytest.raises(EngineError, match="AttributeError"):
            engine.submit("no_such_method").result(60)
        assert engine.submit("drop", {0}).result(60) is None
    finally:
        engine.close()


def test_a_dead_child_fails_what_waits_and_what_is_sent_after(settings):
    engine = EngineProcess(settings)
    engine._process.kill()
    engine._process.join(10)
    with pytest.raises(EngineError, match="gone|exited"):
        engine.submit("drop", {0}).result(30)
    engine.close()


def test_a_call_its_caller_cancelled_is_skipped_and_the_next_ones_still_answer(settings):
    """At shutdown the agent stops waiting and cancels its call; the reader thread goes on."""
    engine = EngineProcess(settings)
    try:
        cancelled = engine.submit("ensure_topics")
        assert cancelled.cancel()
        assert engine.submit("drop", {0}).result(60) is None
        assert engine._reader.is_alive()
    finally:
        engine.close()
