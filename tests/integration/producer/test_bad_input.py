"""Bad input never raises into the app: it is coerced, and every coercion is recorded with a
reason in the Kafka record's `errors`; the event is still delivered."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest

from tests.support.kafka import consume

pytestmark = pytest.mark.integration

MAX_FIELD_CHARS = 200_000


def task_record(sdk, broker, task_id: str, timeout: float = 30.0) -> dict:
    assert sdk.flush(20), sdk.stats()
    records = consume(broker.bootstrap, [broker.topics.tasks], timeout=timeout,
                      until=lambda rs: any(r["task_id"] == task_id for _, r, _ in rs))
    matches = [r for _, r, _ in records if r["task_id"] == task_id]
    assert len(matches) == 1, f"{len(matches)} records for {task_id}"
    return matches[0]


def tid() -> str:
    return f"bad-{uuid.uuid4().hex}"


def has_error(record: dict, *words: str) -> bool:
    return any(all(w in e for w in words) for e in record["errors"])


class Thing:
    def __str__(self) -> str:
        return "a Thing"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    __repr__ = __str__


def nested_dict(levels: int) -> dict:
    root: dict = {}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


# -- objects that are not JSON -----------------------------------------------------------------

def test_non_json_objects_fall_back_to_str(sdk, broker):
    task_id = tid()
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    logged = sdk.log(
        input=Thing(),
        output={"when": when, "tags": {"x"}, "obj": Thing(), "ok": [1, "two"]},
        task_id=task_id,
        started=when,
        thing=Thing(),
    )
    assert logged["input"] == "a Thing"
    assert logged["raw_output"] == {"when": str(when), "tags": "{'x'}", "obj": "a Thing", "ok": [1, "two"]}
    record = task_record(sdk, broker, task_id)
    assert record["input"] == "a Thing"
    assert record["raw_input_type_name"] == "Thing"
    assert json.loads(record["raw_output"]) == {"when": str(when), "tags": "{'x'}", "obj": "a Thing", "ok": [1, "two"]}
    assert record["metadata"] == {"started": str(when), "thing": "a Thing"}
    assert json.loads(record["metadata_json"]) == {"started": str(when), "thing": "a Thing"}


def test_object_whose_str_raises(sdk, broker):
    task_id = tid()
    logged = sdk.log(input=Unprintable(), output={"inner": Unprintable()}, task_id=task_id, extra=Unprintable())
    assert isinstance(logged["input"], str)
    record = task_record(sdk, broker, task_id)
    assert "Unprintable" in record["input"]
    assert has_error(record, "Unprintable"), record["errors"]
    assert "Unprintable" in json.loads(record["raw_output"])["inner"]


def test_bytes_that_are_not_json(sdk, broker):
    task_id = tid()
    logged = sdk.log(input=b"plain \xff text", output=b"{not json", task_id=task_id)
    assert logged["input"] == "plain \ufffd text"
    record = task_record(sdk, broker, task_id)
    assert record["input"] == "plain \ufffd text"
    assert record["output"] == "{not json"
    assert has_error(record, "bytes"), record["errors"]


def test_non_string_dict_keys(sdk, broker):
    task_id = tid()
    sdk.log(input="q", output={1: "one", None: "none", (1, 2): "pair"}, task_id=task_id, metadata={(3, 4): "k"})
    record = task_record(sdk, broker, task_id)
    raw = json.loads(record["raw_output"])
    assert (raw["1"], raw["(1, 2)"]) == ("one", "pair")
    assert raw.get("null", raw.get("None")) == "none"
    assert record["metadata"] == {"(3, 4)": "k"}
    assert has_error(record, "key"), record["errors"]


def test_non_string_ids_are_coerced(sdk, broker):
    logged = sdk.log(input="q", task_id=12345678901, session_id=42, user_id=7, version_id=3.5)
    record = task_record(sdk, broker, "12345678901")
    assert (record["session_id"], record["user_id"], record["version_id"]) == ("42", "7", "3.5")
    assert logged["task_id"] == 12345678901


def test_non_integer_token_counts(sdk, broker):
    task_id = tid()
    sdk.log(input="q", output={"choices": [], "usage": {"prompt_tokens": "many", "completion_tokens": 2.0, "total_tokens": None}}, task_id=task_id)
    record = task_record(sdk, broker, task_id)
    assert record["prompt_tokens"] is None
    assert record["completion_tokens"] == 2
    assert has_error(record, "prompt_tokens"), record["errors"]


# -- NaN / infinities --------------------------------------------------------------------------

def test_nan_and_inf_in_metadata(sdk, broker):
    task_id = tid()
    logged = sdk.log(input="q", output="a", task_id=task_id, score=float("nan"),
                     metadata={"ratio": float("inf"), "ok": 0.5, "neg": float("-inf")})
    assert logged["metadata"]["ok"] == 0.5
    record = task_record(sdk, broker, task_id)
    assert json.loads(record["metadata_json"]) == {"score": None, "metadata": {"ratio": None, "ok": 0.5, "neg": None}}
    assert record["metadata"] == {"score": "null", "ratio": "null", "ok": "0.5", "neg": "null"}
    assert has_error(record, "non-finite"), record["errors"]


def test_nan_in_raw_input_and_output(sdk, broker):
    task_id = tid()
    sdk.log(input={"temperature": float("nan")}, output=[float("inf"), 1.0], task_id=task_id)
    record = task_record(sdk, broker, task_id)
    assert json.loads(record["raw_input"]) == {"temperature": None}
    assert json.loads(record["raw_output"]) == [None, 1.0]
    assert has_error(record, "raw_input", "non-finite"), record["errors"]
    assert has_error(record, "raw_output", "non-finite"), record["errors"]


# -- lone surrogates ---------------------------------------------------------------------------

def test_lone_surrogates_in_input_output_metadata(sdk, broker):
    task_id = tid()
    logged = sdk.log(input="bad \ud800 input", output="out \udfff", task_id=task_id,
                     metadata={"k": "v\ud800"}, note="n\udc00")
    assert logged["input"] == "bad \ud800 input"  # the app's own dict is untouched
    record = task_record(sdk, broker, task_id)
    assert record["input"] == "bad \ufffd input"
    assert record["output"] == "out \ufffd"
    assert record["metadata"] == {"k": "v\ufffd", "note": "n\ufffd"}
    assert "\ufffd" in record["metadata_json"] or "\\ufffd" in record["metadata_json"]
    assert has_error(record, "surrogate"), record["errors"]


def test_lone_surrogates_in_ids(sdk, broker):
    task_id = tid()
    sdk.log(input="q", task_id=task_id, session_id="s\ud800", user_id="u\udfff")
    record = task_record(sdk, broker, task_id)
    assert record["session_id"] == "s\ufffd"
    assert record["user_id"] == "u\ufffd"
    assert has_error(record, "surrogate"), record["errors"]


def test_lone_surrogate_in_feedback_notes(sdk, broker):
    task_id = tid()
    sdk.user_feedback(task_id, flag="success", notes="n\ud800")
    assert sdk.flush(20)
    records = consume(broker.bootstrap, [broker.topics.feedback],
                      until=lambda rs: any(r["task_id"] == task_id for _, r, _ in rs))
    (record,) = [r for _, r, _ in records if r["task_id"] == task_id]
    assert record["notes"] == "n\ufffd"
    assert any("surrogate" in e for e in record["errors"]), record["errors"]


# -- deep recursion ----------------------------------------------------------------------------

def test_dict_nested_ten_thousand_levels(sdk, broker):
    task_id = tid()
    deep = nested_dict(10_000)
    started = time.perf_counter()
    logged = sdk.log(input=deep, output=deep, task_id=task_id, deep=deep)
    assert time.perf_counter() - started < 5
    assert isinstance(logged["input"], str) and isinstance(logged["output"], str)
    record = task_record(sdk, broker, task_id)
    assert record["raw_input"] is not None and json.loads(record["raw_input"])["a"]["a"]
    assert has_error(record, "nested"), record["errors"]
    assert "deep" in json.loads(record["metadata_json"])


def test_self_referencing_list(sdk, broker):
    task_id = tid()
    loop: list = [1]
    loop.append(loop)
    cyclic: dict = {"name": "cycle"}
    cyclic["self"] = cyclic
    wide: list = []
    wide += [wide, wide]  # twice itself at every level: 2**64 paths to a depth limit
    logged = sdk.log(input=loop, output=cyclic, task_id=task_id, loop=loop, wide=wide)
    assert isinstance(logged["input"], str)
    record = task_record(sdk, broker, task_id)
    assert json.loads(record["raw_input"]) == [1, "<list: contains itself>"]
    assert json.loads(record["raw_output"]) == {"name": "cycle", "self": "<dict: contains itself>"}
    assert json.loads(record["metadata_json"])["wide"] == ["<list: contains itself>"] * 2
    assert has_error(record, "contains itself"), record["errors"]


def test_deep_structure_in_stream_chunks(sdk, broker):
    task_id = tid()
    output = sdk.MutableGenerator(iter([nested_dict(5_000), "tail"]), stop=lambda c: False)
    sdk.log(input="q", output=output, stream=True, task_id=task_id)
    assert len(list(output)) == 2
    record = task_record(sdk, broker, task_id)
    assert record["output"].endswith("tail")
    assert has_error(record, "nested"), record["errors"]


# -- big values --------------------------------------------------------------------------------

def test_ten_megabyte_input_is_truncated(sdk, broker):
    task_id = tid()
    big = "x" * 10_000_000
    started = time.perf_counter()
    logged = sdk.log(input=big, output="short", task_id=task_id)
    assert time.perf_counter() - started < 1
    assert logged["input"] is big
    record = task_record(sdk, broker, task_id)
    assert record["input"] == "x" * MAX_FIELD_CHARS
    assert record["output"] == "short"
    assert has_error(record, "input", "truncated", str(MAX_FIELD_CHARS)), record["errors"]
    if record["raw_input"] is not None:
        assert len(record["raw_input"]) <= MAX_FIELD_CHARS


def test_ten_megabyte_output_and_metadata(sdk, broker):
    task_id = tid()
    big = "y" * 10_000_000
    sdk.log(input="q", output=big, task_id=task_id, blob=big)
    record = task_record(sdk, broker, task_id)
    assert len(record["output"]) == MAX_FIELD_CHARS
    assert len(record["metadata"].get("blob", "")) <= MAX_FIELD_CHARS
    assert len(record["metadata_json"]) <= MAX_FIELD_CHARS
    assert has_error(record, "output", "truncated"), record["errors"]


# -- extractors that raise ---------------------------------------------------------------------

def test_extractors_that_raise_fall_back_to_the_default_rules(sdk, broker):
    task_id = tid()

    def bad_in(x):
        raise KeyError("custom_input")

    def bad_out(x):
        raise ValueError("cannot read output")

    def bad_usage(i, o):
        raise ZeroDivisionError("usage")

    logged = sdk.log(
        input={"messages": [{"role": "user", "content": "fallback input"}]},
        output={"choices": [{"message": {"role": "assistant", "content": "fallback output"}}], "usage": {"total_tokens": 5}},
        task_id=task_id,
        input_to_str_function=bad_in,
        output_to_str_function=bad_out,
        input_output_to_usage_function=bad_usage,
    )
    assert logged["input"] == "fallback input"
    assert logged["output"] == "fallback output"
    record = task_record(sdk, broker, task_id)
    assert (record["input"], record["output"]) == ("fallback input", "fallback output")
    assert has_error(record, "input_to_str_function", "KeyError"), record["errors"]
    assert has_error(record, "output_to_str_function", "cannot read output"), record["errors"]
    assert has_error(record, "input_output_to_usage_function", "ZeroDivisionError"), record["errors"]


def test_usage_function_returning_a_non_dict(sdk, broker):
    task_id = tid()
    sdk.log(input="q", output={"x": 1}, task_id=task_id, input_output_to_usage_function=lambda i, o: 12)
    record = task_record(sdk, broker, task_id)
    assert record["total_tokens"] is None
    assert has_error(record, "input_output_to_usage_function"), record["errors"]


def test_stop_function_that_raises_in_wrap(sdk, broker):
    task_id = tid()

    def bad_stop(item):
        raise RuntimeError("bad stop")

    @sdk.wrap(stream=True, stop=bad_stop, task_id=task_id)
    def tokens():
        yield "a"
        yield "b"

    assert list(tokens()) == ["a", "b"]  # the app still gets everything
    record = task_record(sdk, broker, task_id)
    assert has_error(record, "bad stop"), record["errors"]


# -- created_at --------------------------------------------------------------------------------

def test_created_at_sets_the_event_time(sdk, broker):
    task_id = tid()
    before = time.time()
    logged = sdk.log(input="back-filled", output="a", task_id=task_id, created_at=1_700_000_000)
    assert logged["created_at"] == 1_700_000_000
    record = task_record(sdk, broker, task_id)
    assert record["created_at"] == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    client = record["client_created_at"].timestamp()
    assert before - 1 <= client <= time.time() + 1  # the call time, not created_at
    assert "created_at" not in record["metadata"]
    assert record["errors"] == []


def test_created_at_with_fraction_and_datetime(sdk, broker):
    first, second = tid(), tid()
    sdk.log(input="q", task_id=first, created_at=1_700_000_000.25)
    sdk.log(input="q", task_id=second, created_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert task_record(sdk, broker, first)["created_at"] == datetime.fromtimestamp(1_700_000_000.25, tz=UTC)
    assert task_record(sdk, broker, second)["created_at"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["yesterday", float("nan"), -5, [2024], True])
def test_invalid_created_at_is_recorded(sdk, broker, bad):
    task_id = tid()
    logged = sdk.log(input="q", output="a", task_id=task_id, created_at=bad)
    assert logged["task_id"] == task_id
    record = task_record(sdk, broker, task_id)
    assert record["created_at"] == record["client_created_at"]
    assert has_error(record, "created_at"), record["errors"]


def test_bad_input_never_raises_in_stream_mode(sdk, broker):
    task_id = tid()
    output = sdk.MutableGenerator(iter([Unprintable(), "\ud800", float("nan")]), stop=lambda c: False)
    sdk.log(input=Unprintable(), output=output, stream=True, task_id=task_id, created_at="nope")
    assert len(list(output)) == 3
    record = task_record(sdk, broker, task_id)
    assert record["stream"] is True
    assert has_error(record, "created_at"), record["errors"]
    assert has_error(record, "surrogate"), record["errors"]
