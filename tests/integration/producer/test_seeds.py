"""Every code example of the seeds (shared/seeds/000_*.txt and 001_*.txt), run verbatim against
the real `openai` package pointed at a local OpenAI-compatible server (tests/support/openai_server.py).

The printed results of the seeds are asserted on the returned dicts (and on what the examples
print); the events they send are read back from Kafka. Where a seed discards phospho.log's
return value, the test either keeps it (`log = phospho.log(...)`, which changes nothing) or
finds the task with phospho.latest_task_id.
"""

# ruff: noqa: UP006, UP035, UP045  (the seeds' code is kept verbatim: typing.List, Optional...)
from __future__ import annotations

import ast
import json
import uuid
from collections.abc import Callable

import openai
import pytest
import requests

from tests.support.kafka import consume
from tests.support.openai_server import ANSWER, TOKENS, USAGE, OpenAIServer, model_served

pytestmark = pytest.mark.integration

QUESTION = "Explain quantum computers in less than 20 words."
SYSTEM_PROMPT = "You are a helpful assistant."


@pytest.fixture(scope="module")
def server():
    with OpenAIServer() as running:
        yield running


@pytest.fixture
def openai_client(server):
    return openai.OpenAI(api_key="openai-key", base_url=server.base_url)


@pytest.fixture
def phospho_env(sdk, monkeypatch, server):
    """The environment the seeds assume: PHOSPHO_* variables describing the test broker (so a
    bare phospho.init() re-initialises against it) and OPENAI_BASE_URL for the local server.
    The SDK's original settings are restored afterwards."""
    runtime = sdk._api.init.RUNTIME
    settings = runtime.settings
    monkeypatch.setenv("PHOSPHO_PROJECT_ID", settings.project_id)
    monkeypatch.setenv("PHOSPHO_API_KEY", "phospho-key")
    monkeypatch.setenv("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("PHOSPHO_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("PHOSPHO_VERSION_ID", settings.version_id)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.delenv("PHOSPHO_SCHEMA_REGISTRY_URL", raising=False)
    yield settings
    if runtime.settings != settings:
        sdk.init(project_id=settings.project_id, bootstrap_servers=settings.bootstrap_servers,
                 spool_dir=settings.spool_dir, version_id=settings.version_id)
    assert runtime.settings.project_id == "test-project"


def task_records(sdk, broker, task_ids: list[str]) -> dict[str, dict]:
    """Flush, then the Kafka record of each task id (exactly one each)."""
    assert sdk.flush(20), sdk.stats()
    wanted = set(task_ids)
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: wanted <= {r["task_id"] for _, r, _ in rs})
    found: dict[str, list[dict]] = {tid: [] for tid in task_ids}
    for _, record, _ in records:
        if record["task_id"] in wanted:
            found[record["task_id"]].append(record)
    for tid, recs in found.items():
        assert len(recs) == 1, f"{len(recs)} records for task {tid}"
    return {tid: recs[0] for tid, recs in found.items()}


def task_record(sdk, broker, task_id: str) -> dict:
    return task_records(sdk, broker, [task_id])[task_id]


def find_task(sdk, broker, predicate: Callable[[dict], bool]) -> dict:
    """Flush, then the single task record matching `predicate`."""
    assert sdk.flush(20), sdk.stats()
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: any(predicate(r) for _, r, _ in rs))
    matches = [r for _, r, _ in records if predicate(r)]
    assert len(matches) == 1, f"{len(matches)} matching records"
    return matches[0]


def feedback_records(sdk, broker, task_id: str, count: int = 1) -> list[dict]:
    assert sdk.flush(20), sdk.stats()
    records = consume(broker.bootstrap, [broker.topics.feedback],
                      until=lambda rs: sum(r["task_id"] == task_id for _, r, _ in rs) >= count)
    return [r for _, r, _ in records if r["task_id"] == task_id]


def raw_value(record: dict, field: str):
    """The decoded raw_input / raw_output of a record. Null stands for "the very string of the
    input / output field" (the wire contract leaves out a raw str equal to its text)."""
    value = record[field]
    return record[field.removeprefix("raw_")] if value is None else json.loads(value)


def marker() -> str:
    return f"[{uuid.uuid4().hex}]"


# -- "Initialize phospho" -------------------------------------------------------------------------

def test_seed_init(sdk, broker, phospho_env):
    import phospho

    phospho.init()
    assert sdk._api.init.RUNTIME.project_id == "test-project"
    logged = phospho.log(input="after a bare init()", output="ok")
    assert logged["project_id"] == "test-project"
    assert task_record(sdk, broker, logged["task_id"])["output"] == "ok"

    phospho.init(api_key="phospho-key", project_id="phospho-project-id")
    logged = phospho.log(input="after init(api_key=..., project_id=...)")
    assert logged["project_id"] == "phospho-project-id"
    record = task_record(sdk, broker, logged["task_id"])
    assert record["project_id"] == "phospho-project-id"
    assert record["input"] == "after init(api_key=..., project_id=...)"


# -- "Log with phospho.log" -----------------------------------------------------------------------

def test_seed_log_strings(sdk, broker):
    import phospho

    input_text = "Hello! This is what the user asked to the system"
    output_text = "This is the response showed to the user by the app."

    # This is how you log a task to phospho
    log = phospho.log(input=input_text, output=output_text)

    assert log["input"] == input_text and log["output"] == output_text
    record = task_record(sdk, broker, log["task_id"])
    assert record["input"] == input_text
    assert record["output"] == output_text
    assert raw_value(record, "raw_input") == input_text
    assert raw_value(record, "raw_output") == output_text
    assert record["metadata"] == {} and json.loads(record["metadata_json"]) == {}
    assert record["errors"] == []


def test_seed_log_output_is_optional(sdk, broker):
    import phospho

    log = phospho.log(input="Hello! This is what the user asked to the system")
    assert log["output"] is None
    record = task_record(sdk, broker, log["task_id"])
    assert record["output"] is None and record["raw_output"] is None
    assert raw_value(record, "raw_input") == "Hello! This is what the user asked to the system"


# -- "Log OpenAI queries and responses" -----------------------------------------------------------

def test_seed_openai_query_and_chat_completion(sdk, broker, phospho_env, server, capsys):
    import openai

    import phospho

    phospho.init()
    openai_client = openai.OpenAI(api_key="openai-key")

    input_prompt = "Explain quantum computers in less than 20 words."

    # This is your LLM app code
    query = {
        "messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": input_prompt},
        ],
        "model": "gpt-4o-mini",
    }
    response = openai_client.chat.completions.create(**query)

    # You can directly pass as dict or a ChatCompletion as input and output
    log = phospho.log(input=query, output=response)
    print("input:", log["input"])
    print("output:", log["output"])

    assert capsys.readouterr().out == (
        "input: Explain quantum computers in less than 20 words.\n"
        "output: Qubits harness quantum physics for faster, more powerful computation.\n"
    )
    assert server.requests[-1][1]["messages"] == query["messages"]
    assert log["system_prompt"] == SYSTEM_PROMPT
    assert log["model"] == model_served("gpt-4o-mini")
    assert (log["prompt_tokens"], log["completion_tokens"], log["total_tokens"]) == (26, 12, 38)
    assert log["raw_output"] == response.model_dump()
    assert log["raw_output_type_name"] == "ChatCompletion"

    record = task_record(sdk, broker, log["task_id"])
    assert record["input"] == QUESTION and record["output"] == ANSWER
    assert record["system_prompt"] == SYSTEM_PROMPT
    assert record["model"] == model_served("gpt-4o-mini")
    assert record["total_tokens"] == USAGE["total_tokens"]
    assert json.loads(record["raw_input"]) == query
    assert json.loads(record["raw_output"]) == json.loads(response.model_dump_json())
    assert record["raw_input_type_name"] == "dict"
    assert record["raw_output_type_name"] == "ChatCompletion"
    assert record["errors"] == []


# -- "Log a list of OpenAI messages" --------------------------------------------------------------

def test_seed_message_list(sdk, broker, openai_client, capsys):
    import phospho

    # This is your conversation history in a chat app
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Explain quantum computers in less than 20 words."},
    ]

    # Your LLM app code generates a response
    response = openai_client.chat.completions.create(
        messages=messages,
        model="gpt-4o-mini",
    )

    # You append the response to the conversation history
    messages.append({"role": response.choices[0].role, "content": response.choices[0].message.content, } )

    # You can log the conversation history as input or output
    log = phospho.log(input=messages, output=messages)

    print("input:", log["input"])
    print("output:", log["output"])
    print("system_prompt:", log["system_prompt"]) # system prompt is automatically extracted

    assert capsys.readouterr().out == (
        "input: Explain quantum computers in less than 20 words.\n"
        "output: Qubits harness quantum physics for faster, more powerful computation.\n"
        "system_prompt: You are a helpful assistant.\n"
    )
    record = task_record(sdk, broker, log["task_id"])
    assert (record["input"], record["output"], record["system_prompt"]) == (QUESTION, ANSWER, SYSTEM_PROMPT)
    assert json.loads(record["raw_input"]) == messages == json.loads(record["raw_output"])
    assert record["raw_input_type_name"] == "list"


def test_seed_consecutive_user_messages_are_concatenated(sdk, broker):
    import phospho

    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Explain quantum computers in less than 20 words."},
        {"role": "user", "content": "What is the speed of light?"},
    ]
    log = phospho.log(input=messages)

    assert log["input"] == "Explain quantum computers in less than 20 words.\nWhat is the speed of light?"
    assert log["system_prompt"] == SYSTEM_PROMPT
    record = task_record(sdk, broker, log["task_id"])
    assert record["input"] == "Explain quantum computers in less than 20 words.\nWhat is the speed of light?"
    assert record["output"] is None


# -- "Custom extractors" --------------------------------------------------------------------------

def test_seed_custom_extractors_with_misspelled_kwarg(sdk, broker):
    import phospho

    phospho.log(
        input={"custom_input": "this is a complex object"},
        output={"custom_output": "which is not a string nor a standard object"},
        # Custom extractors return a string
        input_to_str_function=lambda x: x["custom_input"],
        output_to_str_fucntion=lambda x: x["custom_output"],
    )

    task_id = phospho.latest_task_id
    record = task_record(sdk, broker, task_id)
    assert record["input"] == "this is a complex object"
    assert record["output"] == "which is not a string nor a standard object"
    assert json.loads(record["raw_input"]) == {"custom_input": "this is a complex object"}
    assert json.loads(record["raw_output"]) == {"custom_output": "which is not a string nor a standard object"}
    # the alias is consumed as the extractor, not logged as metadata
    assert record["metadata"] == {} and json.loads(record["metadata_json"]) == {}
    assert record["errors"] == []


def test_seed_custom_extractors_returned_dict(sdk):
    import phospho

    log = phospho.log(
        input={"custom_input": "this is a complex object"},
        output={"custom_output": "which is not a string nor a standard object"},
        # Custom extractors return a string
        input_to_str_function=lambda x: x["custom_input"],
        output_to_str_fucntion=lambda x: x["custom_output"],
    )
    print("input:", log["input"])
    print("output:", log["output"])
    assert log["input"] == "this is a complex object"
    assert log["output"] == "which is not a string nor a standard object"
    assert "output_to_str_fucntion" not in log


# -- "Log metadata" -------------------------------------------------------------------------------

def test_seed_metadata_and_extra_kwargs(sdk, broker):
    import phospho

    log = phospho.log(
        input="log this",
        output="and that",
        # There is a metadata field
        metadata={"always": "moooore"},
        # Every extra keyword argument is logged as metadata
        log_anything_and_everything="even this is ok",
    )

    assert log["metadata"] == {"always": "moooore"}
    assert log["log_anything_and_everything"] == "even this is ok"
    record = task_record(sdk, broker, log["task_id"])
    assert (record["input"], record["output"]) == ("log this", "and that")
    assert record["metadata"] == {"always": "moooore", "log_anything_and_everything": "even this is ok"}
    assert json.loads(record["metadata_json"]) == {
        "metadata": {"always": "moooore"},
        "log_anything_and_everything": "even this is ok",
    }


def test_seed_task_metadata_example(sdk, broker):
    """seed 001: raw_input with an Ellipsis and a metadata dict (system_prompt, version_id...)."""
    import phospho

    phospho.log(
        input="What is the meaning of life?",
        output="42",
        # Metadata
        raw_input={"chat_history": ...},
        metadata={
            "system_prompt": "You are a helpful assistant.",
            "version_id": "1.0.0",
            "generation_time": 0.1,
        },
    )

    record = task_record(sdk, broker, phospho.latest_task_id)
    assert (record["input"], record["output"]) == ("What is the meaning of life?", "42")
    assert json.loads(record["raw_input"]) == {"chat_history": "Ellipsis"}  # str(...) fallback
    assert record["metadata"] == {
        "system_prompt": "You are a helpful assistant.",
        "version_id": "1.0.0",
        "generation_time": "0.1",
    }
    assert json.loads(record["metadata_json"]) == {"metadata": {
        "system_prompt": "You are a helpful assistant.", "version_id": "1.0.0", "generation_time": 0.1,
    }}
    # as phospho does: the system prompt and the version given in metadata fill the task's fields
    assert (record["system_prompt"], record["version_id"]) == ("You are a helpful assistant.", "1.0.0")


# -- "Log streaming outputs" ----------------------------------------------------------------------

def test_seed_openai_streaming(sdk, broker, openai_client):
    import phospho  # noqa: I001 (the seed's import order)
    from openai.types.chat import ChatCompletionChunk
    from openai._streaming import Stream

    query = {
        "messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "Explain quantum computers in less than 20 words."},
        ],
        "model": "gpt-4o-mini",
        # Enable streaming on OpenAI
        "stream": True
    }
    # OpenAI completion function return a Stream of chunks
    response: Stream[ChatCompletionChunk] = openai_client.chat.completions.create(**query)

    # Pass stream=True to phospho.log to handle this
    log = phospho.log(input=query, output=response, stream=True)

    assert log["output"] is None
    assert log["task_id"] not in phospho.log_queue.events
    chunks = [chunk for chunk in response]  # the app reads the stream
    assert [type(c).__name__ for c in chunks] == ["ChatCompletionChunk"] * (len(TOKENS) + 2)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWER

    record = task_record(sdk, broker, log["task_id"])
    assert record["input"] == QUESTION
    assert record["output"] == ANSWER
    assert record["system_prompt"] == SYSTEM_PROMPT
    assert record["model"] == model_served("gpt-4o-mini")
    assert record["stream"] is True
    assert json.loads(record["raw_output"]) == [json.loads(c.model_dump_json()) for c in chunks]
    assert record["raw_output_type_name"] == "Stream"
    assert record["errors"] == []


def test_seed_ollama_streaming(sdk, broker, server, capsys):
    import json

    import phospho

    prompt = f"Explain quantum computers in less than 20 words. {marker()}"
    r = requests.post(
        # This is a local streaming Ollama endpoint
        f"{server.url}/api/generate",  # (the seed: "http://localhost:11434/api/generate")
        json={
            "model": "mistral-7b",
            "prompt": "Explain quantum computers in less than 20 words.",
            "context": [],
        },
        # This connects to a streaming API endpoint
        stream=True,
    )
    r.raise_for_status()
    response_iterator = r.iter_lines()

    # response_iterator is a generator that streams the response token by token
    # It is immutable by default
    # In order to directly log this to phospho, we need to wrap it this way
    response_iterator = phospho.MutableGenerator(
        generator=response_iterator,
        # Indicate when the streaming stops
        stop=lambda line: json.loads(line).get("done", False),
    )

    # Log the generated content to phospho with Stream=True
    phospho.log(input=prompt, output=response_iterator, stream=True)

    # As you iterate over the response, phospho combines the chunks
    # When stop(output) is True, the iteration is completed and the task is logged
    for line in response_iterator:
        print(line)

    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(TOKENS)  # the "done" line is the stop item: not yielded
    assert [json.loads(ast.literal_eval(p))["response"] for p in printed] == TOKENS

    record = find_task(sdk, broker, lambda rec: rec["input"] == prompt)
    assert record["output"] == ANSWER
    assert record["stream"] is True
    assert record["raw_output_type_name"] == "MutableGenerator"
    raw = json.loads(record["raw_output"])
    assert [line["response"] for line in raw] == TOKENS
    assert all(line["done"] is False for line in raw)
    assert record["model"] == "mistral-7b"


# -- "Wrap functions with phospho.wrap" -----------------------------------------------------------

def test_seed_wrap_decorator(sdk, broker, openai_client, server):
    """The seed's body reads `.delta` of a non-streamed ChatCompletion choice, which raises
    AttributeError in the openai package itself: phospho.wrap must let that very error through
    (after the request was made), exactly as the unwrapped function does."""
    from typing import Dict, List, Optional

    import phospho

    @phospho.wrap
    def answer(messages: List[Dict[str, str]]) -> Optional[str]:
        response = openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
        )
        return response.choices[0].delta.content

    messages = [{"role": "user", "content": f"{QUESTION} {marker()}"}]
    with pytest.raises(AttributeError, match="delta") as wrapped_error:
        answer(messages)
    assert server.requests[-1][1]["messages"] == messages
    with pytest.raises(AttributeError) as plain_error:
        answer.__wrapped__(messages)
    assert str(wrapped_error.value) == str(plain_error.value)
    assert answer.__name__ == "answer"


def test_seed_wrap_decorator_logs_calls(sdk, broker, openai_client):
    """The same decorator on a body that runs (message instead of delta)."""
    from typing import Dict, List, Optional

    import phospho

    @phospho.wrap
    def answer(messages: List[Dict[str, str]]) -> Optional[str]:
        response = openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
        )
        return response.choices[0].message.content

    messages = [{"role": "user", "content": f"{QUESTION} {marker()}"}]
    assert answer(messages) == ANSWER
    record = task_record(sdk, broker, phospho.latest_task_id)
    assert json.loads(record["raw_input"]) == {"0": messages}
    assert record["output"] == ANSWER
    assert record["raw_output_type_name"] == "str"


def test_seed_wrap_decorator_with_metadata(sdk, broker, openai_client, server):
    from typing import Dict, List, Optional

    import phospho

    @phospho.wrap(metadata={"more": "details"})
    def answer(messages: List[Dict[str, str]]) -> Optional[str]:
        response = openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
        )
        return response.choices[0].delta.content

    messages = [{"role": "user", "content": f"{QUESTION} {marker()}"}]
    with pytest.raises(AttributeError, match="delta"):
        answer(messages)
    assert server.requests[-1][1]["messages"] == messages

    @phospho.wrap(metadata={"more": "details"})
    def answer_ok(messages: List[Dict[str, str]]) -> Optional[str]:
        response = openai_client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        return response.choices[0].message.content

    assert answer_ok(messages) == ANSWER
    record = task_record(sdk, broker, phospho.latest_task_id)
    assert record["output"] == ANSWER
    assert record["metadata"] == {"more": "details"}
    assert json.loads(record["metadata_json"]) == {"metadata": {"more": "details"}}


def test_seed_wrap_imported_function(sdk, broker, openai_client):
    from openai.types.chat import ChatCompletion

    import phospho

    # You can wrap any function call in phospho.wrap
    response = phospho.wrap(
        openai_client.chat.completions.create,
        # Pass additional metadata
        metadata={"more": "details"},
    )(
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Explain quantum computers in less than 20 words."},
        ],
        model="gpt-4o-mini",
    )

    assert isinstance(response, ChatCompletion)
    assert response.choices[0].message.content == ANSWER
    record = task_record(sdk, broker, phospho.latest_task_id)
    assert record["input"] == QUESTION  # input = {"messages": [...], "model": ...}
    assert record["output"] == ANSWER
    assert record["system_prompt"] == SYSTEM_PROMPT
    assert record["total_tokens"] == USAGE["total_tokens"]
    assert record["raw_output_type_name"] == "ChatCompletion"
    assert record["metadata"]["more"] == "details"
    meta = json.loads(record["metadata_json"])
    assert meta["metadata"] == {"more": "details"}
    assert meta["messages"][1]["content"] == QUESTION  # the call's kwargs are top-level keys


def test_seed_override_client_method(sdk, broker, openai_client, server):
    from openai.types.chat import ChatCompletion

    import phospho

    openai_client.chat.completions.create = phospho.wrap(
        openai_client.chat.completions.create
    )

    question = f"{QUESTION} {marker()}"
    response = openai_client.chat.completions.create(
        messages=[{"role": "user", "content": question}], model="gpt-4o-mini",
    )
    assert isinstance(response, ChatCompletion) and response.choices[0].message.content == ANSWER
    first = phospho.latest_task_id
    record = task_record(sdk, broker, first)
    assert record["input"] == question and record["output"] == ANSWER
    assert record["model"] == "gpt-4o-mini"  # the call's model kwarg (kwargs beat detection)

    # the wrapped method streams when the call says stream=True
    question2 = f"{QUESTION} {marker()}"
    stream = openai_client.chat.completions.create(
        messages=[{"role": "user", "content": question2}], model="gpt-4o-mini", stream=True,
    )
    chunks = list(stream)
    assert [type(c).__name__ for c in chunks] == ["ChatCompletionChunk"] * (len(TOKENS) + 2)
    assert server.requests[-1][1]["stream"] is True
    record = find_task(sdk, broker, lambda rec: rec["input"] == question2)
    assert record["output"] == ANSWER
    assert record["stream"] is True


def test_seed_wrap_streaming_function(sdk, broker, openai_client):
    from typing import Any, Dict, Generator, List, Optional

    from openai._streaming import Stream
    from openai.types.chat import ChatCompletionChunk

    import phospho

    @phospho.wrap(stream=True, stop=lambda token: token is None)
    def answer(messages: List[Dict[str, str]]) -> Generator[Optional[str], Any, None]:
        streaming_response: Stream[
            ChatCompletionChunk
        ] = openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            stream=True,
        )
        for response in streaming_response:
            yield response.choices[0].delta.content

    messages = [{"role": "user", "content": f"{QUESTION} {marker()}"}]
    tokens = list(answer(messages))
    assert tokens == ["", *TOKENS, None]  # every item, the stop item included

    record = find_task(sdk, broker, lambda rec: rec["raw_input"] is not None
                       and json.loads(rec["raw_input"]) == {"0": messages})
    assert record["output"] == ANSWER
    assert record["stream"] is True
    assert json.loads(record["raw_output"]) == ["", *TOKENS]


# -- seed 001: sessions, users, task ids ----------------------------------------------------------

def test_seed_session_id(sdk, broker):
    import phospho

    session_id = phospho.new_session()

    phospho.log(
        input="What is the meaning of life?",
        output="42",
        session_id=session_id,
    )

    record = task_record(sdk, broker, phospho.latest_task_id)
    assert record["session_id"] == session_id
    assert record["session_id_generated"] is False
    assert (record["input"], record["output"]) == ("What is the meaning of life?", "42")


def test_seed_user_id(sdk, broker):
    import phospho

    phospho.log(
        input="What is the meaning of life?",
        output="42",
        user_id="roger@gmail.com",
    )

    record = task_record(sdk, broker, phospho.latest_task_id)
    assert record["user_id"] == "roger@gmail.com"
    assert record["session_id"].startswith("session_") and record["session_id_generated"] is True


def test_seed_task_id_and_user_feedback(sdk, broker):
    import phospho

    task_id = phospho.new_task()
    session_id = phospho.new_session()
    log = phospho.log(
        input="What is the meaning of life?",
        output="42",
        task_id=task_id,
        session_id=session_id,
        user_id="roger@gmail.com",
    )
    assert log["task_id"] == task_id
    phospho.user_feedback(task_id=task_id, flag="success", source="user", notes="Great answer")

    record = task_record(sdk, broker, task_id)
    assert record["session_id"] == session_id
    (feedback,) = feedback_records(sdk, broker, task_id)
    assert feedback["flag"] == "success"
    assert feedback["notes"] == "Great answer"
    assert feedback["source"] == "user"
    assert (feedback["task_id"], feedback["session_id"], feedback["user_id"]) == (task_id, None, None)  # joined by task_id
    assert feedback["project_id"] == "test-project"
