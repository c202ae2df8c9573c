"""phospho.log(..., stream=True): OpenAI Stream / AsyncStream, MutableGenerator and
MutableAsyncGenerator, chunk by chunk through phospho.log_queue, then on Kafka."""

from __future__ import annotations

import asyncio
import gc
import json
import uuid
from contextlib import contextmanager

import openai
import pytest

from tests.support.kafka import consume
from tests.support.openai_server import ANSWER, TOKENS, OpenAIServer, model_served

pytestmark = pytest.mark.integration

QUERY = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Explain quantum computers in less than 20 words."},
    ],
    "model": "gpt-4o-mini",
    "stream": True,
}


@pytest.fixture(scope="module")
def server():
    with OpenAIServer() as running:
        yield running


@pytest.fixture
def openai_client(server):
    return openai.OpenAI(api_key="openai-key", base_url=server.base_url)


def task_records(sdk, broker, task_ids: list[str]) -> dict[str, list[dict]]:
    assert sdk.flush(20), sdk.stats()
    wanted = set(task_ids)
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: wanted <= {r["task_id"] for _, r, _ in rs})
    out: dict[str, list[dict]] = {tid: [] for tid in task_ids}
    for _, record, _ in records:
        if record["task_id"] in wanted:
            out[record["task_id"]].append(record)
    return out


def task_record(sdk, broker, task_id: str) -> dict:
    (record,) = task_records(sdk, broker, [task_id])[task_id]
    return record


def pending(sdk, task_id: str):
    return sdk.log_queue.events.get(task_id)


def tid() -> str:
    return f"stream-{uuid.uuid4().hex}"


# -- OpenAI streams ----------------------------------------------------------------------------

def test_openai_stream_chunk_by_chunk(sdk, broker, openai_client):
    response = openai_client.chat.completions.create(**QUERY)
    logged = sdk.log(input=QUERY, output=response, stream=True)
    task_id = logged["task_id"]
    assert logged["output"] is None
    assert task_id not in sdk.log_queue.events  # nothing before the first chunk

    text, seen = "", []
    for chunk in response:
        seen.append(chunk)
        text += chunk.choices[0].delta.content or ""
        event = pending(sdk, task_id)
        assert event is not None and event.to_log is False  # built, not sent yet
        assert event.content["raw_output"][-1] == chunk.model_dump()
        assert len(event.content["raw_output"]) == len(seen)
        assert event.content["output"] == text
    assert text == ANSWER
    assert len(seen) == len(TOKENS) + 2

    record = task_record(sdk, broker, task_id)
    assert record["stream"] is True
    assert record["output"] == ANSWER
    assert record["input"] == QUERY["messages"][-1]["content"]
    assert record["system_prompt"] == QUERY["messages"][0]["content"]
    assert record["model"] == model_served("gpt-4o-mini")
    assert json.loads(record["raw_output"]) == [json.loads(c.model_dump_json()) for c in seen]
    assert record["raw_output_type_name"] == "Stream"
    assert record["last_update"] is not None
    assert record["errors"] == []


def test_openai_stream_with_usage_chunk(sdk, broker, openai_client):
    response = openai_client.chat.completions.create(**QUERY, stream_options={"include_usage": True})
    logged = sdk.log(input=QUERY, output=response, stream=True)
    chunks = list(response)
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    record = task_record(sdk, broker, logged["task_id"])
    assert record["output"] == ANSWER
    assert record["prompt_tokens"] == 26
    assert len(json.loads(record["raw_output"])) == len(chunks)


def test_async_openai_stream_chunk_by_chunk(sdk, broker, server):
    async def main() -> tuple[str, list]:
        client = openai.AsyncOpenAI(api_key="openai-key", base_url=server.base_url)
        response = await client.chat.completions.create(**QUERY)
        logged = sdk.log(input=QUERY, output=response, stream=True)
        task_id = logged["task_id"]
        assert task_id not in sdk.log_queue.events
        text, seen = "", []
        async for chunk in response:
            seen.append(chunk)
            text += chunk.choices[0].delta.content or ""
            event = pending(sdk, task_id)
            assert event is not None and event.to_log is False
            assert event.content["raw_output"][-1] == chunk.model_dump()
            assert event.content["output"] == text
        await client.close()
        return task_id, seen

    task_id, seen = asyncio.run(main())
    record = task_record(sdk, broker, task_id)
    assert record["output"] == ANSWER
    assert record["stream"] is True
    assert record["raw_output_type_name"] == "AsyncStream"
    assert len(json.loads(record["raw_output"])) == len(seen)


# -- MutableGenerator / MutableAsyncGenerator ---------------------------------------------------

def test_mutable_generator_chunk_by_chunk_and_stop(sdk, broker):
    consumed = []

    def tokens():
        for item in ["Hel", "lo", "!", "<END>", "never logged"]:
            consumed.append(item)
            yield item

    output = sdk.MutableGenerator(tokens(), stop=lambda token: token == "<END>")
    task_id = tid()
    logged = sdk.log(input="say hello", output=output, stream=True, task_id=task_id)
    assert logged["task_id"] == task_id and logged["output"] is None
    assert task_id not in sdk.log_queue.events

    seen = []
    for token in output:
        seen.append(token)
        event = sdk.log_queue.events[task_id]
        assert event.content["raw_output"][-1] == token
        assert event.content["output"] == "".join(seen)
        assert event.to_log is False
    assert seen == ["Hel", "lo", "!"]  # the stop item ends the iteration
    assert consumed == ["Hel", "lo", "!", "<END>"]
    event = pending(sdk, task_id)
    assert event is None or event.to_log is True  # marked to send on stop

    record = task_record(sdk, broker, task_id)
    assert record["output"] == "Hello!"
    assert json.loads(record["raw_output"]) == ["Hel", "lo", "!"]
    assert record["raw_output_type_name"] == "MutableGenerator"
    assert record["input"] == "say hello"
    assert record["stream"] is True


def test_mutable_generator_sent_on_exhaustion_without_stop_item(sdk, broker):
    output = sdk.MutableGenerator((t for t in ["one ", "two"]), stop=lambda t: False)
    task_id = tid()
    sdk.log(input="count", output=output, stream=True, task_id=task_id)
    assert list(output) == ["one ", "two"]
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "one two"
    assert record["errors"] == []


def test_mutable_async_generator_chunk_by_chunk(sdk, broker):
    async def agen():
        for item in ["As", "ync", None, "after stop"]:
            yield item

    task_id = tid()

    async def main() -> list:
        output = sdk.MutableAsyncGenerator(agen(), stop=lambda t: t is None)
        logged = sdk.log(input="async please", output=output, stream=True, task_id=task_id)
        assert logged["output"] is None and task_id not in sdk.log_queue.events
        seen = []
        async for token in output:
            seen.append(token)
            event = sdk.log_queue.events[task_id]
            assert event.content["raw_output"][-1] == token
            assert event.content["output"] == "".join(seen)
        return seen

    assert asyncio.run(main()) == ["As", "ync"]
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "Async"
    assert json.loads(record["raw_output"]) == ["As", "ync"]
    assert record["raw_output_type_name"] == "MutableAsyncGenerator"


def test_generator_raising_midway(sdk, broker):
    boom = RuntimeError("connection reset by peer")

    def tokens():
        yield "par"
        yield "tial"
        raise boom

    output = sdk.MutableGenerator(tokens(), stop=lambda t: False)
    task_id = tid()
    sdk.log(input="q", output=output, stream=True, task_id=task_id)
    seen = []
    with pytest.raises(RuntimeError) as raised:
        for token in output:
            seen.append(token)
    assert raised.value is boom  # the app sees its own exception
    assert seen == ["par", "tial"]

    record = task_record(sdk, broker, task_id)
    assert record["output"] == "partial"
    assert any("connection reset by peer" in e and "RuntimeError" in e for e in record["errors"]), record["errors"]


def test_custom_iterator_raising_midway(sdk, broker):
    class Feed:
        """A non-generator iterable (like openai's Stream) that fails after two items."""

        def __init__(self) -> None:
            self.n = 0

        def __iter__(self):
            return self

        def __next__(self):
            self.n += 1
            if self.n > 2:
                raise ConnectionError("stream broke")
            return {"response": f"t{self.n}"}

    feed = Feed()
    task_id = tid()
    sdk.log(input="q", output=feed, stream=True, task_id=task_id)
    with pytest.raises(ConnectionError, match="stream broke"):
        for _ in feed:
            pass
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "t1t2"
    assert any("stream broke" in e for e in record["errors"]), record["errors"]


@contextmanager
def automatic_gc_off():
    """No collection of reference cycles while the test runs: whether the SDK notices an
    abandoned stream must not depend on when the garbage collector happens to run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def test_abandoned_stream_is_sent_after_flush(sdk, broker):
    with automatic_gc_off():
        output = sdk.MutableGenerator(iter(["a", "b", "c", "d"]), stop=lambda t: False)
        task_id = tid()
        sdk.log(input="abandon me", output=output, stream=True, task_id=task_id)
        for token in output:
            if token == "b":
                break
        assert sdk.log_queue.events[task_id].to_log is False
        del output  # break + del is all an app does
        assert sdk.flush(20)
        assert task_id not in sdk.log_queue.events  # sent by flush, not left pending
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "ab"
    assert record["errors"], "an abandoned stream should say so in its errors"


def test_abandoned_openai_stream_is_sent_after_flush(sdk, broker, openai_client):
    with automatic_gc_off():
        response = openai_client.chat.completions.create(**QUERY)
        logged = sdk.log(input=QUERY, output=response, stream=True)
        task_id = logged["task_id"]
        for chunk in response:
            if chunk.choices[0].delta.content == TOKENS[1]:
                break
        del response, chunk  # break + del is all an app does
        assert sdk.flush(20)
        assert task_id not in sdk.log_queue.events  # sent by flush, not left pending
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "".join(TOKENS[:2])
    assert record["stream"] is True


def test_kwargs_are_kept_in_stream_mode(sdk, broker):
    output = sdk.MutableGenerator(iter(["x", "y"]), stop=lambda t: False)
    task_id = tid()
    logged = sdk.log(
        input="q", output=output, stream=True, task_id=task_id, user_id="u-stream",
        session_id="s-stream", metadata={"plan": "pro"}, log_anything="kept",
    )
    assert logged["metadata"] == {"plan": "pro"}
    assert logged["log_anything"] == "kept"
    assert (logged["user_id"], logged["session_id"]) == ("u-stream", "s-stream")
    list(output)
    record = task_record(sdk, broker, task_id)
    assert record["metadata"] == {"plan": "pro", "log_anything": "kept"}
    assert json.loads(record["metadata_json"]) == {"metadata": {"plan": "pro"}, "log_anything": "kept"}
    assert (record["user_id"], record["session_id"]) == ("u-stream", "s-stream")
    assert record["session_id_generated"] is False
    assert record["output"] == "xy"


def test_stream_custom_output_extractor(sdk, broker):
    output = sdk.MutableGenerator(iter([{"text": "A"}, {"text": "B"}]), stop=lambda t: False)
    task_id = tid()
    sdk.log(input="q", output=output, stream=True, task_id=task_id, output_to_str_function=lambda c: c["text"].lower())
    list(output)
    assert task_record(sdk, broker, task_id)["output"] == "ab"


def test_stream_with_materialized_list(sdk, broker):
    task_id = tid()
    logged = sdk.log(input="q", output=["al", "ready"], stream=True, task_id=task_id)
    assert logged["task_id"] == task_id
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "already"
    assert record["stream"] is True


def test_stream_without_concatenating_raw_outputs_keeps_the_last_chunk(sdk, broker):
    output = sdk.MutableGenerator(iter([{"response": "a"}, {"response": "b"}]), stop=lambda c: False)
    task_id = tid()
    sdk.log(input="q", output=output, stream=True, task_id=task_id, concatenate_raw_outputs_if_task_id_exists=False)
    for chunk in output:
        assert sdk.log_queue.events[task_id].content["raw_output"] == chunk
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "ab"
    assert json.loads(record["raw_output"]) == {"response": "b"}
