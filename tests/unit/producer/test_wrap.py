"""phospho.wrap: decorator with/without arguments, wrap(fn, **meta)(...), the default stop rule,
coroutines (the streams on Kafka are in tests/integration/producer/test_wrap_streams.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from openai.types.chat import ChatCompletionChunk

from phospho._api.wrap import default_stop


@pytest.fixture
def logged(sdk, monkeypatch):
    """The dicts phospho.log returned for the wrapped calls (phospho.wrap logs through it)."""
    import phospho._api.wrap as wrap_module

    calls: list[dict] = []
    real = wrap_module.log

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result)
        return result

    monkeypatch.setattr(wrap_module, "log", spy)
    return calls


def tid() -> str:
    return f"wrap-{uuid.uuid4().hex}"


def chunk(content: str | None, finish: str | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate({
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {} if content is None else {"content": content}, "finish_reason": finish}],
    })


# -- plain calls -------------------------------------------------------------------------------

def test_decorator_without_arguments(sdk, logged):
    @sdk.wrap
    def add(a, b, c=0):
        return a + b + c

    assert add(1, 2, c=3) == 6
    (task,) = logged
    assert task["raw_input"] == {"0": 1, "1": 2, "c": 3}
    assert task["input"] == str({"0": 1, "1": 2, "c": 3})
    assert task["raw_output"] == 6 and task["output"] == "6"
    assert task["c"] == 3  # the call's kwargs are top-level keys
    assert add.__name__ == "add"


def test_decorator_with_empty_parentheses(sdk, logged):
    @sdk.wrap()
    def echo(text):
        return text

    assert echo("hi") == "hi"
    (task,) = logged
    assert (task["raw_input"], task["output"]) == ({"0": "hi"}, "hi")


def test_wrap_function_call_form(sdk, logged):
    def shout(text, times=1):
        return text.upper() * times

    assert sdk.wrap(shout, metadata={"more": "details"})("hey", times=2) == "HEYHEY"
    (task,) = logged
    assert task["raw_input"] == {"0": "hey", "times": 2}
    assert task["output"] == "HEYHEY"
    assert task["metadata"] == {"more": "details"} and task["times"] == 2


def test_input_with_messages_kwarg_uses_the_extraction_rules(sdk, logged):
    def create(**kwargs):
        return {"choices": [{"message": {"role": "assistant", "content": "Paris"}}], "model": "m-1", "usage": {"total_tokens": 9}}

    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
    sdk.wrap(create)(messages=messages, model="m")
    (task,) = logged
    assert task["input"] == "Capital of France?"
    assert task["output"] == "Paris"
    assert task["system_prompt"] == "Be brief."
    assert task["total_tokens"] == 9
    assert task["model"] == "m"  # the call's kwarg beats the detected model
    assert task["messages"] == messages


def test_return_value_is_unchanged(sdk, logged):
    sentinel = object()
    payload = {"nested": [1, 2, {"x": sentinel}]}

    @sdk.wrap
    def give():
        return payload

    assert give() is payload
    assert payload == {"nested": [1, 2, {"x": sentinel}]}
    (task,) = logged
    assert task["raw_output"]["nested"][2]["x"] == str(sentinel)


def test_meta_log_parameters_are_used_as_log_arguments(sdk, logged):
    task_id = tid()

    @sdk.wrap(task_id=task_id, session_id="wrap-session", user_id="wrap-user", version_id="v-wrap")
    def f(x):
        return x * 2

    assert f(21) == 42
    (task,) = logged
    assert task["task_id"] == task_id
    assert (task["session_id"], task["user_id"], task["version_id"]) == ("wrap-session", "wrap-user", "v-wrap")
    assert "task_id" not in task["raw_input"]


def test_exceptions_propagate_unchanged(sdk, logged):
    error = KeyError("missing")

    @sdk.wrap
    def broken():
        raise error

    with pytest.raises(KeyError) as raised:
        broken()
    assert raised.value is error
    assert logged == []


def test_each_call_is_a_task(sdk, logged):
    @sdk.wrap
    def f(x):
        return x

    f(1), f(2)
    assert [t["output"] for t in logged] == ["1", "2"]
    assert logged[0]["task_id"] != logged[1]["task_id"]


# -- streaming ---------------------------------------------------------------------------------

@pytest.mark.parametrize("item, expected", [
    (None, True),
    ("text", False),
    ({"choices": [{"delta": {"content": "x"}, "finish_reason": None}]}, False),
    ({"choices": [{"delta": {"content": "x"}, "finish_reason": "stop"}]}, True),
    ({"choices": [{"delta": {"content": None}, "finish_reason": None}]}, True),
    ({"choices": [{"delta": {}, "finish_reason": None}]}, True),
])
def test_default_stop_rules(item, expected):
    assert default_stop(item) is expected


def test_default_stop_on_chunk_objects():
    assert default_stop(chunk("x")) is False
    assert default_stop(chunk("x", finish="stop")) is True


def test_default_stop_on_chunk_object_without_content():
    """Reference: default stop is "item is None, or choices[0].finish_reason is set, or
    choices[0].delta.content is None" -- for ChatCompletionChunk objects too."""
    assert default_stop(chunk(None)) is True


# -- async -------------------------------------------------------------------------------------

def test_coroutine_function_is_awaited_and_its_result_logged(sdk, logged):
    @sdk.wrap(metadata={"kind": "async"})
    async def answer(question):
        await asyncio.sleep(0)
        return {"response": f"async answer to {question}"}

    result = asyncio.run(answer("q?"))
    assert result == {"response": "async answer to q?"}
    (task,) = logged
    assert task["output"] == "async answer to q?"
    assert task["raw_output"] == {"response": "async answer to q?"}
    assert task["raw_output_type_name"] == "dict"
    assert task["raw_input"] == {"0": "q?"}
    assert task["metadata"] == {"kind": "async"}


def test_sync_callable_returning_a_coroutine(sdk, logged):
    async def inner(x):
        return x + 1

    def returns_coroutine(x):
        return inner(x)

    wrapped = sdk.wrap(returns_coroutine)
    assert asyncio.run(wrapped(41)) == 42
    (task,) = logged
    assert task["output"] == "42"
    assert "coroutine" not in task["output"]


