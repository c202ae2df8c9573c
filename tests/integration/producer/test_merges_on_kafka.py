"""On Kafka: the ids a task is sent with, a task_id logged twice before it is sent merged into one
record, logged again after it was sent a second record, and the precedence of the keys."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from tests.support.kafka import consume

pytestmark = pytest.mark.integration


def task_records(sdk, broker, task_id: str) -> list[dict]:
    assert sdk.flush(20), sdk.stats()
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: any(r["task_id"] == task_id for _, r, _ in rs))
    return [r for _, r, _ in records if r["task_id"] == task_id]


def task_record(sdk, broker, task_id: str) -> dict:
    (record,) = task_records(sdk, broker, task_id)
    return record


@contextmanager
def sender_paused(sdk):
    """Keep the background sender from taking events, so that two logs of one task_id are
    certain to meet in log_queue (the sender drains it every few milliseconds)."""
    queue = sdk.log_queue
    queue.take = lambda limit: []  # instance attribute shadowing LogQueue.take
    time.sleep(0.1)  # a drain already under way (with the real take) finishes
    try:
        yield queue
    finally:
        del queue.take


def tid() -> str:
    return f"merge-{uuid.uuid4().hex}"


def test_session_id_generated_flag_on_kafka(sdk, broker):
    generated = sdk.log(input="no session")
    given = sdk.log(input="with session", session_id="my-session")
    record = task_record(sdk, broker, generated["task_id"])
    assert record["session_id"] == generated["session_id"]
    assert record["session_id_generated"] is True
    record = task_record(sdk, broker, given["task_id"])
    assert record["session_id"] == "my-session"
    assert record["session_id_generated"] is False


def test_given_task_id_is_kept(sdk, broker):
    task_id = tid()
    assert sdk.log(input="q", task_id=task_id)["task_id"] == task_id
    assert task_record(sdk, broker, task_id)["input"] == "q"


def test_new_session_used_as_session_id(sdk, broker):
    session_id = sdk.new_session()
    task_id = sdk.new_task()
    logged = sdk.log(input="q", session_id=session_id, task_id=task_id)
    assert (logged["session_id"], logged["task_id"]) == (session_id, task_id)
    record = task_record(sdk, broker, task_id)
    assert record["session_id"] == session_id and record["session_id_generated"] is False


# -- merge_contents ----------------------------------------------------------------------------

def test_same_task_id_twice_before_sending_is_merged(sdk, broker, monkeypatch):
    import phospho._api.tasks as tasks_module

    clock = iter([1_700_000_000.25, 1_700_000_007.75])
    monkeypatch.setattr(tasks_module, "_time", lambda: next(clock))  # the two calls' times
    task_id = tid()
    usage1 = {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    usage2 = {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}
    out1 = {"choices": [{"message": {"role": "assistant", "content": "Hello "}}], "usage": usage1}
    out2 = {"choices": [{"message": {"role": "assistant", "content": "world"}}], "usage": usage2}
    with sender_paused(sdk) as queue:
        first = sdk.log(input="greet", output=out1, task_id=task_id, session_id="merge-s", step=1)
        assert first["client_created_at"] == 1_700_000_000
        second = sdk.log(input="greet", output=out2, task_id=task_id, session_id="merge-s", step=2)
        content = queue.events[task_id].content
        assert second is content
        assert content["output"] == "Hello world"
        assert content["raw_output"] == [out1, out2]
        assert (content["completion_tokens"], content["total_tokens"]) == (7, 27)
        assert content["prompt_tokens"] == 10
        assert content["client_created_at"] == 1_700_000_000  # the first call's
        assert content["last_update"] == 1_700_000_007  # the last call's
        assert content["step"] == 2
    record = task_record(sdk, broker, task_id)  # one record for both calls
    assert record["output"] == "Hello world"
    assert json.loads(record["raw_output"]) == [out1, out2]
    assert (record["completion_tokens"], record["total_tokens"], record["prompt_tokens"]) == (7, 27, 10)
    assert record["client_created_at"] == datetime.fromtimestamp(1_700_000_000.25, tz=UTC)
    assert record["last_update"] == datetime.fromtimestamp(1_700_000_007.75, tz=UTC)
    assert record["metadata"] == {"step": "2"}


def test_merge_of_plain_strings_through_the_queue(sdk, broker):
    task_id = tid()
    with sender_paused(sdk) as queue:
        sdk.log(input="q", output="a", task_id=task_id)
        sdk.log(input="q", output="b", task_id=task_id)
        sdk.log(input="q", output="c", task_id=task_id)
        assert queue.events[task_id].content["output"] == "abc"
        assert queue.events[task_id].content["raw_output"] == ["a", "b", "c"]
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "abc"
    assert json.loads(record["raw_output"]) == ["a", "b", "c"]


def test_merge_without_concatenating_raw_outputs(sdk, broker):
    task_id = tid()
    with sender_paused(sdk):
        sdk.log(input="q", output="a", task_id=task_id, raw_output={"v": 1})
        merged = sdk.log(input="q", output="b", task_id=task_id, raw_output={"v": 2},
                         concatenate_raw_outputs_if_task_id_exists=False)
        assert merged["raw_output"] == {"v": 2} and merged["output"] == "ab"
    record = task_record(sdk, broker, task_id)
    assert json.loads(record["raw_output"]) == {"v": 2}


def test_same_task_id_after_sending_is_a_new_record(sdk, broker):
    task_id = tid()
    sdk.log(input="q", output="first", task_id=task_id)
    assert sdk.flush(20)
    second = sdk.log(input="q", output="second", task_id=task_id)
    assert second["output"] == "second"
    assert sdk.flush(20)
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: sum(r["task_id"] == task_id for _, r, _ in rs) >= 2)
    outputs = sorted(r["output"] for _, r, _ in records if r["task_id"] == task_id)
    assert outputs == ["first", "second"]


# -- precedence --------------------------------------------------------------------------------

def test_kwargs_beat_detected_metadata(sdk, broker):
    query = {"messages": [{"role": "system", "content": "detected"}, {"role": "user", "content": "q"}], "model": "asked"}
    output = {"choices": [{"message": {"role": "assistant", "content": "a"}}], "model": "answered",
              "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    logged = sdk.log(input=query, output=output, model="from-kwargs", system_prompt="kw prompt", total_tokens=99)
    assert logged["model"] == "from-kwargs"
    assert logged["system_prompt"] == "kw prompt"
    assert logged["total_tokens"] == 99
    assert logged["prompt_tokens"] == 1  # detected, not overridden
    record = task_record(sdk, broker, logged["task_id"])
    assert (record["model"], record["system_prompt"], record["total_tokens"]) == ("from-kwargs", "kw prompt", 99)


def test_kwargs_beat_base_keys(sdk, broker):
    logged = sdk.log(input="q", output="a", raw_input_type_name="Custom", raw_output_type_name="AlsoCustom")
    assert (logged["raw_input_type_name"], logged["raw_output_type_name"]) == ("Custom", "AlsoCustom")
    record = task_record(sdk, broker, logged["task_id"])
    assert (record["raw_input_type_name"], record["raw_output_type_name"]) == ("Custom", "AlsoCustom")


