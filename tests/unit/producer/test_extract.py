"""The extraction rules of the reference (input/output to text, system prompt, usage, model),
as pure functions of phospho._core.extract, through phospho.log's returned dict and in the
encoded task record."""

from __future__ import annotations

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel

from phospho._core import extract as _extract
from phospho._core.extract import (
    detect_model,
    detect_system_prompt,
    detect_usage,
    input_to_text,
    output_to_text,
)

ALWAYS = {
    "client_created_at", "project_id", "session_id", "task_id", "input", "raw_input",
    "raw_input_type_name", "output", "raw_output", "raw_output_type_name", "version_id", "user_id",
}
DETECTED = {"model", "system_prompt", "prompt_tokens", "completion_tokens", "total_tokens"}

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
QUESTION = "Explain quantum computers in less than 20 words."
ANSWER = "Qubits harness quantum physics for faster, more powerful computation."
USAGE = {"prompt_tokens": 26, "completion_tokens": 12, "total_tokens": 38}


def completion_dict(content: str | None = ANSWER, model: str = "gpt-4o-mini-2024-07-18", usage: dict | None = None) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{
            "index": 0, "finish_reason": "stop", "logprobs": None,
            "message": {"role": "assistant", "content": content},
        }],
        "usage": dict(USAGE if usage is None else usage),
    }


def chunk_dict(content: str | None, finish: str | None = None, **extra: object) -> dict:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1700000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        **extra,
    }


# -- input to text -----------------------------------------------------------------------------

def test_module_exports_the_rules():
    assert set(_extract.__all__) >= {"input_to_text", "output_to_text", "detect_system_prompt", "detect_usage", "detect_model"}


def test_input_str_is_itself():
    assert input_to_text("Hello! This is what the user asked") == "Hello! This is what the user asked"
    assert input_to_text("") == ""


def test_input_dict_with_messages_is_last_message_content():
    query = {"messages": [SYSTEM, {"role": "user", "content": QUESTION}], "model": "gpt-4o-mini"}
    assert input_to_text(query) == QUESTION


def test_input_dict_last_message_any_role():
    query = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    assert input_to_text(query) == "a"


def test_input_dict_last_message_content_is_stringified():
    content = [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "x"}}]
    query = {"messages": [{"role": "user", "content": content}]}
    assert input_to_text(query) == str(content)


@pytest.mark.parametrize("query", [
    {"messages": []},
    {"messages": [{"role": "user", "content": None}]},
    {"messages": [{"role": "user"}]},
    {"messages": "not a list"},
    {"prompt": "no messages key"},
])
def test_input_dict_without_usable_messages_falls_back_to_str(query):
    assert input_to_text(query) == str(query)


def test_input_message_list_is_last_contiguous_user_block():
    messages = [
        SYSTEM,
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "reply"},
        {"role": "user", "content": "second"},
        {"role": "user", "content": "third"},
    ]
    assert input_to_text(messages) == "second\nthird"


def test_input_message_list_skips_trailing_non_user_messages():
    messages = [
        SYSTEM,
        {"role": "user", "content": QUESTION},
        {"role": "user", "content": "What is the speed of light?"},
        {"role": "assistant", "content": ANSWER},
    ]
    assert input_to_text(messages) == f"{QUESTION}\nWhat is the speed of light?"


def test_input_message_list_without_user_is_empty():
    assert input_to_text([SYSTEM, {"role": "assistant", "content": "hi"}]) == ""
    assert input_to_text([]) == ""


@pytest.mark.parametrize("value", [42, 3.5, True, None, [1, 2], ["a", "b"], {"a": 1}, [{"role": "user"}]])
def test_input_fallback_is_str(value):
    assert input_to_text(value) == str(value)


# -- output to text ----------------------------------------------------------------------------

def test_output_none_and_str():
    assert output_to_text(None) is None
    assert output_to_text("the answer") == "the answer"
    assert output_to_text("") == ""


def test_output_chat_completion_dict():
    assert output_to_text(completion_dict()) == ANSWER


def test_output_chunk_delta_content():
    assert output_to_text(chunk_dict("Qubits")) == "Qubits"


def test_output_chunk_without_content_is_empty_string():
    assert output_to_text(chunk_dict(None, finish="stop")) == ""
    none_content = chunk_dict("x")
    none_content["choices"][0]["delta"]["content"] = None
    assert output_to_text(none_content) == ""


def test_output_ollama_response():
    assert output_to_text({"model": "mistral-7b", "response": "Qubits", "done": False}) == "Qubits"


def test_output_message_list_is_last_assistant_block():
    messages = [
        SYSTEM,
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
        {"role": "assistant", "content": "a3"},
    ]
    assert output_to_text(messages) == "a2\na3"


def test_output_message_list_skips_trailing_user_messages():
    messages = [{"role": "assistant", "content": "a1"}, {"role": "user", "content": "q"}]
    assert output_to_text(messages) == "a1"


@pytest.mark.parametrize("value", [42, 1.5, {"custom_output": "x"}, ["not", "messages"], (1, 2)])
def test_output_fallback_is_str(value):
    assert output_to_text(value) == str(value)


# -- system prompt -----------------------------------------------------------------------------

def test_system_prompt_from_first_message():
    assert detect_system_prompt({"messages": [SYSTEM, {"role": "user", "content": "q"}]}) == SYSTEM["content"]


def test_system_prompt_only_when_first_message_is_system():
    assert detect_system_prompt({"messages": [{"role": "user", "content": "q"}, SYSTEM]}) is None
    assert detect_system_prompt({"messages": []}) is None
    assert detect_system_prompt({"model": "x"}) is None


def test_top_level_system_key_wins():
    query = {"system": "Top-level (Anthropic style)", "messages": [SYSTEM, {"role": "user", "content": "q"}]}
    assert detect_system_prompt(query) == "Top-level (Anthropic style)"
    assert detect_system_prompt({"system": "alone", "messages": [{"role": "user", "content": "q"}]}) == "alone"


def test_system_prompt_of_message_list_joins_all_system_messages():
    messages = [
        {"role": "system", "content": "Rule one."},
        {"role": "user", "content": "q"},
        {"role": "system", "content": "Rule two."},
    ]
    assert detect_system_prompt(messages) == "Rule one.\nRule two."
    assert detect_system_prompt([{"role": "user", "content": "q"}]) is None


def test_no_system_prompt_for_other_inputs():
    assert detect_system_prompt("a string") is None
    assert detect_system_prompt(None) is None
    assert detect_system_prompt([1, 2]) is None


# -- usage and model ---------------------------------------------------------------------------

def test_usage_is_output_usage_with_every_key():
    usage = {**USAGE, "completion_tokens_details": {"reasoning_tokens": 0}, "cached": 3}
    assert detect_usage(completion_dict(usage=usage)) == usage


def test_no_usage_without_usage_key():
    assert detect_usage({"choices": []}) is None
    assert detect_usage("text") is None
    assert detect_usage(None) is None


def test_chunk_counts_one_completion_token():
    assert detect_usage(chunk_dict("Qubits")) == {"completion_tokens": 1}


def test_final_usage_chunk_gives_its_usage():
    """With stream_options.include_usage the last chunk carries the usage: it wins."""
    last = {**chunk_dict("x"), "choices": [], "usage": dict(USAGE)}
    assert detect_usage(last) == USAGE


def test_model_from_output_then_input():
    assert detect_model({"model": "asked"}, {"model": "answered"}) == "answered"
    assert detect_model({"model": "asked"}, "text") == "asked"
    assert detect_model({"model": "asked"}, None) == "asked"
    assert detect_model("text", "text") is None


# -- through phospho.log -----------------------------------------------------------------------

def test_log_returns_the_base_keys_for_strings(sdk):
    logged = sdk.log(input="hi", output="hello")
    assert ALWAYS <= set(logged)
    assert not (DETECTED & set(logged))
    assert isinstance(logged["client_created_at"], int)
    assert logged["project_id"] == "test-project"
    assert logged["version_id"] == "test-version"
    assert logged["user_id"] is None
    assert (logged["input"], logged["output"]) == ("hi", "hello")
    assert (logged["raw_input"], logged["raw_output"]) == ("hi", "hello")
    assert (logged["raw_input_type_name"], logged["raw_output_type_name"]) == ("str", "str")


def test_log_without_output(sdk):
    logged = sdk.log(input="only input")
    assert ALWAYS <= set(logged)
    assert logged["output"] is None and logged["raw_output"] is None
    assert logged["raw_output_type_name"] == "NoneType"


def test_log_openai_query_and_completion_dicts(sdk):
    query = {"messages": [SYSTEM, {"role": "user", "content": QUESTION}], "model": "gpt-4o-mini"}
    logged = sdk.log(input=query, output=completion_dict())
    assert ALWAYS | DETECTED <= set(logged)
    assert logged["input"] == QUESTION
    assert logged["output"] == ANSWER
    assert logged["system_prompt"] == SYSTEM["content"]
    assert logged["model"] == "gpt-4o-mini-2024-07-18"
    assert (logged["prompt_tokens"], logged["completion_tokens"], logged["total_tokens"]) == (26, 12, 38)
    assert logged["raw_input"] == query and logged["raw_output"] == completion_dict()
    assert (logged["raw_input_type_name"], logged["raw_output_type_name"]) == ("dict", "dict")


def test_log_copies_every_usage_key_to_the_top_level(sdk):
    usage = {**USAGE, "completion_tokens_details": {"reasoning_tokens": 4}, "cache_hits": 2}
    logged = sdk.log(input="q", output=completion_dict(usage=usage))
    assert logged["completion_tokens_details"] == {"reasoning_tokens": 4}
    assert logged["cache_hits"] == 2
    assert logged["total_tokens"] == 38


def test_log_pydantic_chat_completion_object(sdk):
    response = ChatCompletion.model_validate(completion_dict())
    logged = sdk.log(input={"messages": [SYSTEM, {"role": "user", "content": QUESTION}]}, output=response)
    assert logged["output"] == ANSWER
    assert logged["raw_output"] == response.model_dump()
    assert logged["raw_output_type_name"] == "ChatCompletion"
    assert logged["model"] == "gpt-4o-mini-2024-07-18"
    assert logged["prompt_tokens"] == 26


def test_log_model_from_input_when_output_has_none(sdk):
    logged = sdk.log(input={"messages": [{"role": "user", "content": "q"}], "model": "llama3"}, output="a")
    assert logged["model"] == "llama3"
    assert "prompt_tokens" not in logged


def test_log_message_lists(sdk):
    messages = [
        {"role": "system", "content": "Sys A."},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "system", "content": "Sys B."},
        {"role": "user", "content": "u2"},
        {"role": "user", "content": "u3"},
        {"role": "assistant", "content": "a2"},
    ]
    logged = sdk.log(input=messages, output=messages)
    assert logged["input"] == "u2\nu3"
    assert logged["output"] == "a2"
    assert logged["system_prompt"] == "Sys A.\nSys B."
    assert logged["raw_input"] == messages and logged["raw_input_type_name"] == "list"


def test_log_top_level_system_wins(sdk):
    query = {"system": "Be terse.", "messages": [SYSTEM, {"role": "user", "content": "q"}], "model": "claude"}
    logged = sdk.log(input=query, output={"content": "a"})
    assert logged["system_prompt"] == "Be terse."
    assert logged["model"] == "claude"


def test_log_chunk_output(sdk):
    logged = sdk.log(input="q", output=chunk_dict("Qub"))
    assert logged["output"] == "Qub"
    assert logged["completion_tokens"] == 1


def test_log_openai_chunk_object(sdk):
    chunk = ChatCompletionChunk.model_validate(chunk_dict("Qub"))
    logged = sdk.log(input="q", output=chunk)
    assert logged["output"] == "Qub"
    assert logged["raw_output"] == chunk.model_dump()
    assert logged["raw_output_type_name"] == "ChatCompletionChunk"


def test_log_ollama_output(sdk):
    logged = sdk.log(input="q", output={"model": "mistral-7b", "response": "Qubits", "done": True})
    assert logged["output"] == "Qubits"
    assert logged["model"] == "mistral-7b"


def test_log_fallback_str_for_other_values(sdk):
    logged = sdk.log(input=123, output=4.5)
    assert (logged["input"], logged["output"]) == ("123", "4.5")
    assert (logged["raw_input"], logged["raw_output"]) == (123, 4.5)
    assert (logged["raw_input_type_name"], logged["raw_output_type_name"]) == ("int", "float")


def test_log_bytes_are_json_loaded(sdk):
    logged = sdk.log(input=b'{"messages": [{"role": "user", "content": "from bytes"}]}', output=b'{"response": "r"}')
    assert logged["input"] == "from bytes"
    assert logged["output"] == "r"
    assert logged["raw_input"] == {"messages": [{"role": "user", "content": "from bytes"}]}
    assert logged["raw_input_type_name"] == "bytes"


def test_log_pydantic_v2_object_is_model_dumped(sdk):
    class Query(BaseModel):
        messages: list[dict]
        model: str

    query = Query(messages=[SYSTEM, {"role": "user", "content": "typed"}], model="m")
    logged = sdk.log(input=query, output="ok")
    assert logged["raw_input"] == query.model_dump()
    assert logged["input"] == "typed"
    assert logged["system_prompt"] == SYSTEM["content"]
    assert logged["raw_input_type_name"] == "Query"


def test_log_unknown_object_is_str(sdk):
    class Thing:
        def __str__(self) -> str:
            return "a thing"

    logged = sdk.log(input=Thing(), output=Thing())
    assert (logged["input"], logged["output"]) == ("a thing", "a thing")
    assert (logged["raw_input"], logged["raw_output"]) == ("a thing", "a thing")
    assert logged["raw_input_type_name"] == "Thing"


def test_log_explicit_raw_values_win(sdk):
    logged = sdk.log(input="q", output="a", raw_input={"chat_history": [1]}, raw_output=["x"])
    assert logged["raw_input"] == {"chat_history": [1]}
    assert logged["raw_output"] == ["x"]
    assert (logged["input"], logged["output"]) == ("q", "a")


def test_log_custom_extractors_get_the_converted_objects(sdk):
    seen = {}

    def in_fn(x):
        seen["in"] = x
        return x["custom_input"]

    def out_fn(x):
        seen["out"] = x
        return x["custom_output"]

    def usage_fn(i, o):
        seen["usage"] = (i, o)
        return {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}

    logged = sdk.log(
        input={"custom_input": "in text"},
        output=ChatCompletion.model_validate(completion_dict()),
        input_to_str_function=in_fn,
        output_to_str_function=lambda x: out_fn({"custom_output": x["choices"][0]["message"]["content"].upper()}),
        input_output_to_usage_function=usage_fn,
    )
    assert logged["input"] == "in text"
    assert logged["output"] == ANSWER.upper()
    assert (logged["prompt_tokens"], logged["completion_tokens"], logged["total_tokens"]) == (7, 3, 10)
    assert seen["in"] == {"custom_input": "in text"}
    assert isinstance(seen["usage"][1], dict) and seen["usage"][1]["object"] == "chat.completion"


def test_log_usage_function_replaces_output_usage(sdk):
    logged = sdk.log(input="q", output=completion_dict(), input_output_to_usage_function=lambda i, o: {"total_tokens": 1})
    assert logged["total_tokens"] == 1
    assert "prompt_tokens" not in logged


def test_detected_fields_reach_the_typed_fields_of_the_wire_record(sdk, wire):
    query = {"messages": [SYSTEM, {"role": "user", "content": QUESTION}], "model": "gpt-4o-mini"}
    logged = sdk.log(input=query, output=completion_dict(), session_id="extract-session", user_id="u-extract")
    record = wire.task(logged["task_id"])
    assert record["input"] == QUESTION
    assert record["output"] == ANSWER
    assert record["system_prompt"] == SYSTEM["content"]
    assert record["model"] == "gpt-4o-mini-2024-07-18"
    assert (record["prompt_tokens"], record["completion_tokens"], record["total_tokens"]) == (26, 12, 38)
    assert record["raw_input_type_name"] == "dict"
    assert record["session_id"] == "extract-session" and record["user_id"] == "u-extract"
    assert record["version_id"] == "test-version" and record["project_id"] == "test-project"
    # typed fields are not repeated in the metadata
    assert not ({"model", "system_prompt", "prompt_tokens", "input", "output"} & set(record["metadata"]))
def test_extractor_returning_a_non_string(sdk):
    logged = sdk.log(input={"n": 1}, output={"n": 2}, input_to_str_function=lambda x: x["n"], output_to_str_function=lambda x: [x["n"]])
    assert logged["input"] == "1"
    assert logged["output"] == "[2]"


