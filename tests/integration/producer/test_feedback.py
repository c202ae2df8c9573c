"""phospho.user_feedback on Kafka: flags, raw flags, coercion, and where feedback lands next to its task."""

from __future__ import annotations

import uuid

import pytest

from tests.support.kafka import consume

pytestmark = pytest.mark.integration


def feedback_records(sdk, broker, task_ids: list[str]) -> dict[str, list[dict]]:
    """Flush, then every feedback record of each task id (waits until each has one)."""
    assert sdk.flush(20), sdk.stats()
    wanted = set(task_ids)
    records = consume(broker.bootstrap, [broker.topics.feedback],
                      until=lambda rs: wanted <= {r["task_id"] for _, r, _ in rs})
    out: dict[str, list[dict]] = {t: [] for t in task_ids}
    for _, record, message in records:
        if record["task_id"] in wanted:
            record = dict(record, _key=message.key())
            out[record["task_id"]].append(record)
    return out


def feedback_record(sdk, broker, task_id: str) -> dict:
    (record,) = feedback_records(sdk, broker, [task_id])[task_id]
    return record


def tid() -> str:
    return f"fb-{uuid.uuid4().hex}"


def test_flag_success(sdk, broker):
    task_id = tid()
    sent = sdk.user_feedback(task_id=task_id, flag="success", notes="Great answer")
    assert sent["flag"] == "success" and sent["task_id"] == task_id
    record = feedback_record(sdk, broker, task_id)
    assert record["flag"] == "success"
    assert record["notes"] == "Great answer"
    assert record["source"] == "user"
    assert record["raw_flag"] is None
    assert record["project_id"] == "test-project"
    assert record["errors"] == []


def test_flag_failure_with_source(sdk, broker):
    task_id = tid()
    sdk.user_feedback(task_id, flag="failure", source="moderator")
    record = feedback_record(sdk, broker, task_id)
    assert (record["flag"], record["source"]) == ("failure", "moderator")


def test_raw_flag_reaches_kafka(sdk, broker):
    task_id = tid()
    sdk.user_feedback(task_id, raw_flag="👍", notes="thumbs up")
    record = feedback_record(sdk, broker, task_id)
    assert (record["flag"], record["raw_flag"], record["notes"]) == ("success", "👍", "thumbs up")


def test_raw_flag_to_flag(sdk, broker):
    task_id = tid()
    sent = sdk.user_feedback(task_id, raw_flag=4, raw_flag_to_flag=lambda stars: "success" if stars >= 4 else "failure")
    assert sent["flag"] == "success"
    low = sdk.user_feedback(tid(), raw_flag=2, raw_flag_to_flag=lambda stars: "success" if stars >= 4 else "failure")
    assert low["flag"] == "failure"
    record = feedback_record(sdk, broker, task_id)
    assert record["flag"] == "success" and record["raw_flag"] == "4"


def test_raw_flag_to_flag_that_raises_falls_back(sdk, broker):
    task_id = tid()

    def broken(raw):
        raise RuntimeError("mapping down")

    sent = sdk.user_feedback(task_id, raw_flag="😀", raw_flag_to_flag=broken)
    assert sent["flag"] == "success"
    record = feedback_record(sdk, broker, task_id)
    assert record["flag"] == "success"
    assert any("mapping down" in e for e in record["errors"]), record["errors"]


def test_neither_flag_nor_raw_flag_sends_nothing(sdk, broker):
    task_id, sentinel = tid(), tid()
    queued = sdk.stats()["queued"]
    assert sdk.user_feedback(task_id) is None
    assert sdk.user_feedback(task_id, notes="only notes") is None
    assert sdk.stats()["queued"] == queued
    sdk.user_feedback(sentinel, flag="success")
    found = feedback_records(sdk, broker, [sentinel])
    assert found[sentinel]
    records = consume(broker.bootstrap, [broker.topics.feedback], until=lambda rs: any(r["task_id"] == sentinel for _, r, _ in rs))
    assert not [r for _, r, _ in records if r["task_id"] == task_id]


@pytest.mark.parametrize("bad, expected", [("maybe", "failure"), ("👍", "success"), ("SUCCESS", "failure"), (1, "failure")])
def test_invalid_flag_is_coerced_with_an_error(sdk, broker, bad, expected):
    task_id = tid()
    sent = sdk.user_feedback(task_id, flag=bad)
    assert sent["flag"] == expected
    record = feedback_record(sdk, broker, task_id)
    assert record["flag"] == expected
    assert record["raw_flag"] == str(bad)
    assert any("flag" in e for e in record["errors"]), record["errors"]


def test_notes_that_are_not_strings(sdk, broker):
    task_id = tid()
    sdk.user_feedback(task_id, flag="success", notes={"why": ["fast", "right"]})
    record = feedback_record(sdk, broker, task_id)
    assert record["notes"] == str({"why": ["fast", "right"]})


def task_message(broker, task_id: str):
    tasks = consume(broker.bootstrap, [broker.topics.tasks], until=lambda rs: any(r["task_id"] == task_id for _, r, _ in rs))
    (message,) = [m for _, r, m in tasks if r["task_id"] == task_id]
    return message


@pytest.mark.parametrize("when", ["after the task was sent", "right after the task", "before the task"])
def test_feedback_and_its_task_are_keyed_by_the_task_id(sdk, broker, when):
    """Whatever process logs them, a task and its feedback meet on one partition: both are
    keyed by the task_id. The feedback carries no session or user (the pipeline joins them)."""
    task_id = tid()
    if when == "before the task":
        sdk.user_feedback(task_id, flag="failure", notes="came first")
        assert sdk.flush(20)
    sdk.log(input="q", output="a", task_id=task_id, session_id="fb-session", user_id="fb-user")
    if when == "after the task was sent":
        assert sdk.flush(20)
    if when != "before the task":
        sdk.user_feedback(task_id, flag="failure", notes="came first")
    record = feedback_record(sdk, broker, task_id)
    assert record["flag"] == "failure" and record["notes"] == "came first"
    assert record["_key"] == task_id.encode()
    assert record["session_id"] is None and record["user_id"] is None
    task = task_message(broker, task_id)
    assert task.key() == task_id.encode()


def test_feedback_for_a_stream_task(sdk, broker):
    task_id = tid()
    output = sdk.MutableGenerator(iter(["x", "y"]), stop=lambda t: False)
    sdk.log(input="q", output=output, stream=True, task_id=task_id, session_id="fb-stream")
    list(output)
    sdk.user_feedback(task_id, flag="success")
    record = feedback_record(sdk, broker, task_id)
    assert record["_key"] == task_id.encode()
    assert task_message(broker, task_id).key() == task_id.encode()


def test_feedback_without_task_id_is_recorded_not_raised(sdk, broker):
    sent = sdk.user_feedback(None, flag="success")  # type: ignore[arg-type]
    assert sent is not None and sent["task_id"] == ""
