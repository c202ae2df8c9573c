"""Ids (task, session, new_session/new_task), the merge rule of a task_id logged twice before it
is sent, and the precedence of the keys of the returned dict."""

from __future__ import annotations

import re
import uuid

import pytest

from phospho._core.queue import merge_contents

TASK_ID = re.compile(r"^task_[0-9a-f]{32}$")
SESSION_ID = re.compile(r"^session_[0-9a-f]{32}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def is_uuid4_hex(value: str) -> bool:
    return bool(HEX32.match(value)) and uuid.UUID(hex=value).version == 4


# -- ids ---------------------------------------------------------------------------------------

def test_generated_task_ids(sdk):
    ids = {sdk.log(input="q")["task_id"] for _ in range(50)}
    assert len(ids) == 50
    for task_id in ids:
        assert TASK_ID.match(task_id), task_id
        assert is_uuid4_hex(task_id.removeprefix("task_"))


def test_generated_session_ids_are_new_per_call(sdk):
    sessions = [sdk.log(input="q")["session_id"] for _ in range(20)]
    assert len(set(sessions)) == 20
    for session_id in sessions:
        assert SESSION_ID.match(session_id), session_id
        assert is_uuid4_hex(session_id.removeprefix("session_"))


def test_new_session_and_new_task(sdk):
    sessions = {sdk.new_session() for _ in range(20)}
    tasks = {sdk.new_task() for _ in range(20)}
    assert len(sessions) == 20 and len(tasks) == 20 and not (sessions & tasks)
    for value in sessions | tasks:
        assert is_uuid4_hex(value), value


def base(**over) -> dict:
    content = {
        "client_created_at": 100, "task_id": "t", "session_id": "s", "input": "q",
        "output": "Hello ", "raw_output": "Hello ", "model": "m1", "prompt_tokens": 10,
        "completion_tokens": 1, "total_tokens": 11, "only_old": True,
    }
    content.update(over)
    return content


def test_merge_contents_rules():
    existing = base()
    new = base(client_created_at=200, output="world", raw_output="world", model="m2", prompt_tokens=12,
               completion_tokens=2, total_tokens=14, only_new="yes", input="q2")
    del new["only_old"]
    merge_contents(existing, new, True)
    assert existing["output"] == "Hello world"
    assert existing["raw_output"] == ["Hello ", "world"]
    assert existing["completion_tokens"] == 3
    assert existing["total_tokens"] == 25
    assert existing["prompt_tokens"] == 12  # not summed: newest value
    assert existing["client_created_at"] == 100
    assert existing["last_update"] == 200
    assert existing["model"] == "m2" and existing["input"] == "q2"
    assert existing["only_old"] is True and existing["only_new"] == "yes"


def test_merge_contents_raw_output_list_grows():
    existing = base(raw_output=["a", "b"])
    merge_contents(existing, base(raw_output="c", client_created_at=101), True)
    assert existing["raw_output"] == ["a", "b", "c"]
    merge_contents(existing, base(raw_output={"d": 1}, client_created_at=102), True)
    assert existing["raw_output"] == ["a", "b", "c", {"d": 1}]
    assert existing["last_update"] == 102 and existing["client_created_at"] == 100


def test_merge_contents_without_concatenation_keeps_newest_raw_output():
    existing = base()
    merge_contents(existing, base(output="world", raw_output={"newest": True}, client_created_at=150), False)
    assert existing["raw_output"] == {"newest": True}
    assert existing["output"] == "Hello world"


def test_merge_contents_none_outputs():
    existing = base(output=None, raw_output=None)
    merge_contents(existing, base(output=None, raw_output=None), True)
    assert existing["output"] is None and existing["raw_output"] is None
    merge_contents(existing, base(output="late", raw_output="late"), True)
    assert existing["output"] == "late" and existing["raw_output"] == ["late"]


def test_merge_contents_tokens_only_on_one_side():
    existing = base()
    del existing["completion_tokens"], existing["total_tokens"]
    new = base(completion_tokens=4, total_tokens=6)
    merge_contents(existing, new, True)
    assert (existing["completion_tokens"], existing["total_tokens"]) == (4, 6)
    existing = base()
    new = base()
    del new["completion_tokens"], new["total_tokens"]
    merge_contents(existing, new, True)
    assert (existing["completion_tokens"], existing["total_tokens"]) == (1, 11)


# -- merging through log_queue -----------------------------------------------------------------

def test_detected_metadata_beats_base_keys(sdk):
    output = {"choices": [{"message": {"role": "assistant", "content": "a"}}], "usage": {"raw_output_type_name": "from-usage", "total_tokens": 1}}
    logged = sdk.log(input="q", output=output)
    assert logged["raw_output_type_name"] == "from-usage"  # usage keys are copied over the base keys


@pytest.mark.parametrize("key", ["task_id", "session_id", "user_id", "version_id"])
def test_explicit_arguments_fill_the_base_keys(sdk, key):
    logged = sdk.log(input="q", **{key: f"given-{key}"})
    assert logged[key] == f"given-{key}"


def test_default_version_id_and_project(sdk):
    logged = sdk.log(input="q")
    assert logged["version_id"] == "test-version"
    assert logged["project_id"] == "test-project"
    assert sdk.log(input="q", version_id="v2")["version_id"] == "v2"
