"""The SDK keeps what log() accepted: generated hostile objects (methods that raise, exceptions
that cannot be printed) thrown at log, wrap and user_feedback never raise into the app and are
never dropped: every call is one event on the wire (sent == logged), with the reasons in its
errors. What log() accepted is a snapshot; a wrapped stream the app never consumes is sent when
it is dropped or at flush."""

from __future__ import annotations

import gc
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.hostile import UnprintableError, callables, hostile, ids, values

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def tid() -> str:
    return f"hostile-{uuid.uuid4().hex}"


def counted(wire, kind: str, task_ids: list[str]) -> dict[str, int]:
    """How many events of `kind` each task id got on the wire."""
    got = {t: 0 for t in task_ids}
    for record in wire.records(kind):
        if record["task_id"] in got:
            got[record["task_id"]] += 1
    return got


log_calls = st.fixed_dictionaries(
    {"input": values, "output": values},
    optional={"session_id": ids, "user_id": ids, "version_id": ids, "raw_input": values, "raw_output": values,
              "metadata": values, "extra": values, "created_at": values,
              "input_to_str_function": callables(1), "output_to_str_function": callables(1),
              "input_output_to_usage_function": callables(2)},
)


@PROPERTY
@given(calls=st.lists(log_calls, min_size=1, max_size=4))
def test_every_hostile_log_is_one_task_on_the_wire(sdk, wire, calls: list[dict[str, Any]]) -> None:
    failed = sdk.stats()["failed"]
    task_ids = [tid() for _ in calls]
    for task_id, kwargs in zip(task_ids, calls, strict=True):
        returned = sdk.log(task_id=task_id, **kwargs)
        assert returned["task_id"] == task_id
    assert counted(wire, "task", task_ids) == {t: 1 for t in task_ids}
    assert sdk.stats()["failed"] == failed


feedback_calls = st.fixed_dictionaries(
    {"flag": st.sampled_from(["success", "failure"]) | values.filter(lambda v: v is not None)},
    optional={"notes": values, "source": values, "raw_flag": values, "raw_flag_to_flag": callables(1)},
)


@PROPERTY
@given(calls=st.lists(feedback_calls, min_size=1, max_size=4), hostile_id=hostile())
def test_every_hostile_feedback_is_one_feedback_event(sdk, wire, calls: list[dict[str, Any]], hostile_id: Any) -> None:
    failed = sdk.stats()["failed"]
    task_ids = [tid() for _ in calls]
    for task_id, kwargs in zip(task_ids, calls, strict=True):
        sent = sdk.user_feedback(task_id, **kwargs)
        assert sent is not None and sent["flag"] in ("success", "failure")
    before = len(wire.records("feedback"))
    assert sdk.user_feedback(hostile_id, flag="success")["task_id"]  # an id that cannot even be printed: its text
    assert counted(wire, "feedback", task_ids) == {t: 1 for t in task_ids}
    assert len(wire.records("feedback")) == before + 1
    assert sdk.stats()["failed"] == failed


wrap_calls = st.fixed_dictionaries(
    {"args": st.lists(values, max_size=3), "kwargs": st.dictionaries(st.sampled_from(["a", "b", "messages"]), values, max_size=2),
     "returns": values, "meta": st.dictionaries(st.sampled_from(["metadata", "user_id", "session_id", "tag"]), values, max_size=2),
     "consumed": st.sampled_from(["not a stream", "all", "some", "never"])},
)


@PROPERTY
@given(calls=st.lists(wrap_calls, min_size=1, max_size=3))
def test_every_hostile_wrapped_call_is_one_task_on_the_wire(sdk, wire, calls: list[dict[str, Any]]) -> None:
    failed = sdk.stats()["failed"]
    task_ids = [tid() for _ in calls]
    for task_id, call in zip(task_ids, calls, strict=True):
        returns = call["returns"]
        if call["consumed"] == "not a stream":
            wrapped = sdk.wrap(lambda *a, returns=returns, **k: returns, task_id=task_id, **call["meta"])
            assert wrapped(*call["args"], **call["kwargs"]) is returns
            continue

        def chunks(*a: Any, returns: Any = returns, **k: Any) -> Any:
            yield from (returns, "tail")

        stream = sdk.wrap(chunks, task_id=task_id, stop=lambda chunk: False, **call["meta"])(*call["args"], **call["kwargs"])
        if call["consumed"] == "all":
            assert list(stream)[0] is returns
        elif call["consumed"] == "some":
            assert next(stream) is returns
        del stream  # dropped: consumed or not, its task is sent
    gc.collect()
    assert counted(wire, "task", task_ids) == {t: 1 for t in task_ids}
    assert sdk.stats()["failed"] == failed


def test_reasons_are_recorded_for_objects_that_cannot_be_read(sdk, wire) -> None:
    class NoStr:
        def __str__(self) -> str:
            raise ValueError("no")

        __repr__ = __str__

    class NoItems(dict):
        def items(self):  # type: ignore[override]
            raise KeyError("no items")

    class NoIter(list):
        def __iter__(self):  # type: ignore[override]
            raise RuntimeError("no iteration")

    task_id = tid()
    logged = sdk.log(input=NoStr(), output=NoIter([1, 2]), task_id=task_id, metadata=NoItems(a=1),
                     user_id=NoStr(), output_to_str_function=lambda o: (_ for _ in ()).throw(UnprintableError()))
    assert logged["input"] == "<NoStr: str() raised ValueError>"
    assert logged["raw_output"] == "<NoIter: iteration raised RuntimeError>"
    assert logged["metadata"] == "<NoItems: items() raised KeyError>"
    assert logged["user_id"] == "<unprintable NoStr>"
    record = wire.task(task_id)
    assert record["user_id"] == "<unprintable NoStr>"
    errors = " | ".join(record["errors"])
    for reason in ("input: NoStr str() raised ValueError", "output: NoIter iteration raised RuntimeError",
                   "metadata: NoItems items() raised KeyError", "user_id: a NoStr, stored as its text",
                   "output_to_str_function raised UnprintableError: <unprintable UnprintableError>"):
        assert reason in errors, errors


def test_what_log_accepted_is_a_snapshot(sdk, wire) -> None:
    task_id = tid()
    query = {"messages": [{"role": "user", "content": "first"}], "model": "m"}
    metadata = {"plan": "pro", "tags": ["a"]}
    answer = ["x", {"y": 1}]
    sdk.log(input=query, output=answer, task_id=task_id, metadata=metadata, extra=metadata)
    query["messages"][0]["content"] = "changed"
    query["model"] = "changed"
    metadata["plan"] = "changed"
    metadata["tags"].append("b")
    answer[1]["y"] = 2
    record = wire.task(task_id)
    assert record["input"] == "first" and record["model"] == "m"
    assert record["metadata"] == {"plan": "pro", "tags": '["a"]', "extra.plan": "pro", "extra.tags": '["a"]'}
    assert record["raw_output"] == '["x",{"y":1}]'


def test_a_wrapped_stream_never_consumed_is_sent_when_dropped(sdk, wire) -> None:
    task_id = tid()

    @sdk.wrap(task_id=task_id)
    def words():
        yield "never"

    stream = words()
    del stream
    record = wire.task(task_id)  # flushed: the drop is seen at once (refcount), or by flush's collection
    assert record["output"] is None and record["stream"] is True
    assert "stream never consumed by the app; sent when the app dropped it" in record["errors"]


def test_a_stream_in_a_reference_cycle_is_sent_at_flush(sdk, wire) -> None:
    task_id = tid()
    output = sdk.MutableGenerator(iter(["a", "b", "c"]), stop=lambda c: False)
    sdk.log(input="q", output=output, stream=True, task_id=task_id)
    next(output)
    output.cycle = output  # only a garbage collection frees it
    del output
    record = wire.task(task_id)
    assert record["output"] == "a"
    assert "stream not finished after 1 chunks; sent when the app dropped it" in record["errors"]
