"""The system prompt and the version given in `metadata={...}`, as the phospho docs pass them,
fill the task's system_prompt and version_id fields; an explicit one wins (log's version_id=,
a system_prompt= keyword); they beat the prompt detected in the input and the version of init.
They stay in the metadata too."""

from __future__ import annotations

import uuid

import pytest

SYSTEM = {"role": "system", "content": "Detected from the messages."}


def tid() -> str:
    return f"meta-{uuid.uuid4().hex}"


def test_the_seed_example_fills_both_fields(sdk, wire) -> None:
    task_id = tid()
    logged = sdk.log(input="What is the meaning of life?", output="42", task_id=task_id, raw_input={"chat_history": ...},
                     metadata={"system_prompt": "You are a helpful assistant.", "version_id": "1.0.0", "generation_time": 0.1})
    assert (logged["system_prompt"], logged["version_id"]) == ("You are a helpful assistant.", "1.0.0")
    record = wire.task(task_id)
    assert (record["system_prompt"], record["version_id"]) == ("You are a helpful assistant.", "1.0.0")
    assert record["metadata"] == {"system_prompt": "You are a helpful assistant.", "version_id": "1.0.0",
                                  "generation_time": "0.1"}


@pytest.mark.parametrize("explicit, metadata, want", [
    ({}, {"version_id": "from-metadata"}, "from-metadata"),  # beats init's version
    ({"version_id": "argument"}, {"version_id": "from-metadata"}, "argument"),
    ({}, {"version_id": 2.5}, "2.5"),
    ({}, {"other": 1}, "test-version"),
])
def test_version(sdk, wire, explicit, metadata, want) -> None:
    task_id = tid()
    sdk.log(input="q", output="a", task_id=task_id, metadata=metadata, **explicit)
    assert wire.task(task_id)["version_id"] == want


@pytest.mark.parametrize("explicit, metadata, want", [
    ({}, {"system_prompt": "from metadata"}, "from metadata"),  # beats the detected one
    ({"system_prompt": "keyword"}, {"system_prompt": "from metadata"}, "keyword"),
    ({}, {"other": 1}, "Detected from the messages."),
])
def test_system_prompt(sdk, wire, explicit, metadata, want) -> None:
    task_id = tid()
    query = {"messages": [SYSTEM, {"role": "user", "content": "hi"}]}
    sdk.log(input=query, output="a", task_id=task_id, metadata=metadata, **explicit)
    assert wire.task(task_id)["system_prompt"] == want


def test_wrap_metadata_fills_the_fields_too(sdk, wire) -> None:
    task_id = tid()
    sdk.wrap(lambda question: "answer", task_id=task_id,
             metadata={"system_prompt": "Be brief.", "version_id": "wrap-1"})("question")
    record = wire.task(task_id)
    assert (record["system_prompt"], record["version_id"]) == ("Be brief.", "wrap-1")


def test_metadata_that_is_not_a_dict_fills_nothing(sdk, wire) -> None:
    task_id = tid()
    sdk.log(input="q", output="a", task_id=task_id, metadata="version_id: 3")
    record = wire.task(task_id)
    assert (record["system_prompt"], record["version_id"]) == (None, "test-version")
