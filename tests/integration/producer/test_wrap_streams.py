"""phospho.wrap on Kafka: metadata, streams (stop rules, generators, async iterators, the async
OpenAI client) sent chunk by chunk as one task."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from openai.types.chat import ChatCompletionChunk

from tests.support.kafka import consume

pytestmark = pytest.mark.integration


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


def task_record(sdk, broker, task_id: str) -> dict:
    assert sdk.flush(20), sdk.stats()
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: any(r["task_id"] == task_id for _, r, _ in rs))
    (record,) = [r for _, r, _ in records if r["task_id"] == task_id]
    return record


def tid() -> str:
    return f"wrap-{uuid.uuid4().hex}"


def chunk(content: str | None, finish: str | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate({
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {} if content is None else {"content": content}, "finish_reason": finish}],
    })


# -- plain calls -------------------------------------------------------------------------------

def test_decorator_with_metadata(sdk, broker, logged):
    @sdk.wrap(metadata={"more": "details"}, team="search")
    def answer(question, *, temperature=0.0):
        return f"answer to {question}"

    assert answer("why?", temperature=0.5) == "answer to why?"
    (task,) = logged
    assert task["metadata"] == {"more": "details"}
    assert task["team"] == "search"
    assert task["temperature"] == 0.5
    assert task["raw_input"] == {"0": "why?", "temperature": 0.5}
    assert task["output"] == "answer to why?"

    record = task_record(sdk, broker, task["task_id"])
    assert record["metadata"] == {"more": "details", "team": "search", "temperature": "0.5"}
    assert json.loads(record["metadata_json"]) == {"metadata": {"more": "details"}, "team": "search", "temperature": 0.5}
    assert json.loads(record["raw_input"]) == {"0": "why?", "temperature": 0.5}


def test_streaming_with_stop(sdk, broker):
    task_id = tid()

    @sdk.wrap(stream=True, stop=lambda token: token == "<STOP>", task_id=task_id, source="gen")
    def tokens(prompt):
        yield from ["Hel", "lo", "<STOP>", "tail"]

    gen = tokens("greet")
    assert task_id not in sdk.log_queue.events
    seen = []
    for token in gen:
        seen.append(token)
        if token == "lo":
            event = sdk.log_queue.events[task_id]
            assert event.content["output"] == "Hello" and event.to_log is False
            assert event.content["raw_output"] == ["Hel", "lo"]
    assert seen == ["Hel", "lo", "<STOP>", "tail"]  # every item, the stop item too

    record = task_record(sdk, broker, task_id)
    assert record["output"] == "Hello"
    assert json.loads(record["raw_output"]) == ["Hel", "lo"]
    assert json.loads(record["raw_input"]) == {"0": "greet"}
    assert record["metadata"] == {"source": "gen"}
    assert record["stream"] is True


def test_streaming_default_stop_is_none(sdk, broker):
    task_id = tid()

    @sdk.wrap(stream=True, task_id=task_id)
    def tokens():
        yield "a"
        yield "b"
        yield None

    assert list(tokens()) == ["a", "b", None]
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "ab"
    assert json.loads(record["raw_output"]) == ["a", "b"]


def test_streaming_default_stop_on_openai_chunks(sdk, broker):
    task_id = tid()
    chunks = [chunk("Hi"), chunk(" there"), chunk(None, finish="stop")]

    @sdk.wrap(stream=True, task_id=task_id)
    def completion():
        yield from chunks

    received = list(completion())
    assert all(a is b for a, b in zip(received, chunks, strict=True))
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "Hi there"
    assert len(json.loads(record["raw_output"])) == 2


def test_streaming_when_the_call_says_stream_true(sdk, broker):
    task_id = tid()

    @sdk.wrap(task_id=task_id)
    def create(prompt, stream=False):
        return iter(["x", "y", None]) if stream else "xy"

    out = create("p", stream=True)
    assert list(out) == ["x", "y", None]
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "xy"
    assert record["stream"] is True
    assert json.loads(record["metadata_json"]) == {"stream": True}


def test_generator_ending_without_stop_item_is_sent(sdk, broker):
    task_id = tid()

    @sdk.wrap(stream=True, stop=lambda t: False, task_id=task_id)
    def tokens():
        yield "only"

    assert list(tokens()) == ["only"]
    assert task_record(sdk, broker, task_id)["output"] == "only"


def test_async_generator_function(sdk, broker):
    task_id = tid()

    @sdk.wrap(task_id=task_id)
    async def tokens(prompt):
        for token in ["as", "ync", None]:
            await asyncio.sleep(0)
            yield token

    async def main():
        return [token async for token in tokens("p")]

    assert asyncio.run(main()) == ["as", "ync", None]
    record = task_record(sdk, broker, task_id)
    assert record["output"] == "async"
    assert record["stream"] is True
    assert json.loads(record["raw_input"]) == {"0": "p"}


def test_async_function_streaming_an_async_iterator(sdk, broker):
    task_id = tid()

    async def agen():
        for token in ["one", "two", "<end>"]:
            yield token

    @sdk.wrap(stream=True, stop=lambda t: t == "<end>", task_id=task_id)
    async def create():
        return agen()

    async def main():
        stream = await create()
        return [token async for token in stream]

    assert asyncio.run(main()) == ["one", "two", "<end>"]
    assert task_record(sdk, broker, task_id)["output"] == "onetwo"


def test_wrapped_async_openai_client_method(sdk, broker):
    """Overriding an AsyncOpenAI client's method with phospho.wrap (as the seeds do for the sync
    client): `await create(...)` must still give a ChatCompletion, and with stream=True an
    AsyncStream-like object to `async for` over. AsyncCompletions.create is not a coroutine
    function for inspect (openai decorates it), so the wrapper sees a coroutine at call time."""
    import openai

    from tests.support.openai_server import ANSWER, OpenAIServer

    question, question2 = f"plain {uuid.uuid4().hex}", f"streamed {uuid.uuid4().hex}"

    async def main(base_url):
        client = openai.AsyncOpenAI(api_key="openai-key", base_url=base_url)
        client.chat.completions.create = sdk.wrap(client.chat.completions.create)
        try:
            response = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question2}], stream=True)
            chunks = [chunk async for chunk in stream]
        finally:
            await client.close()
        return response, chunks

    with OpenAIServer() as server:
        response, chunks = asyncio.run(main(server.base_url))
    assert response.choices[0].message.content == ANSWER
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWER

    assert sdk.flush(20)
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: {question, question2} <= {r["input"] for _, r, _ in rs})
    by_input = {r["input"]: r for _, r, _ in records if r["input"] in (question, question2)}
    assert by_input[question]["output"] == ANSWER
    assert by_input[question2]["output"] == ANSWER
    assert by_input[question2]["stream"] is True
