"""phospho.log(..., stream=True): the returned dict is the stream's event content, chunks stay the
app's objects, and the documented ValueErrors (a bare generator, MutableGenerator without stop)."""

from __future__ import annotations

import asyncio

import openai
import pytest

from tests.support.openai_server import ANSWER, OpenAIServer

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


def test_openai_stream_returned_dict_is_the_event_content(sdk, openai_client):
    response = openai_client.chat.completions.create(**QUERY)
    logged = sdk.log(input=QUERY, output=response, stream=True)
    first = next(iter(response))
    assert sdk.log_queue.events[logged["task_id"]].content is logged
    assert logged["raw_output"] == [first.model_dump()]
    for _ in response:
        pass
    assert logged["output"] == ANSWER


def test_mutable_generator_dict_chunks_are_the_same_objects(sdk):
    chunks = [{"response": "a", "done": False}, {"response": "b", "done": False}, {"response": "", "done": True}]
    output = sdk.MutableGenerator(iter(chunks), stop=lambda c: c["done"])
    logged = sdk.log(input="q", output=output, stream=True)
    received = []
    for chunk in output:
        received.append(chunk)
        assert sdk.log_queue.events[logged["task_id"]].content["raw_output"][-1] == chunk
    assert all(a is b for a, b in zip(received, chunks[:2], strict=True))  # unchanged
    assert logged["output"] == "ab"


def test_mutable_generator_requires_stop():
    import phospho

    with pytest.raises(TypeError):
        phospho.MutableGenerator(iter([]))  # type: ignore[call-arg]


# -- errors and edge cases ---------------------------------------------------------------------

def test_bare_generator_raises_value_error(sdk):
    def gen():
        yield "x"

    with pytest.raises(ValueError, match="MutableGenerator"):
        sdk.log(input="q", output=gen(), stream=True)


def test_bare_async_generator_raises_value_error(sdk):
    async def agen():
        yield "x"

    output = agen()
    with pytest.raises(ValueError, match="MutableAsyncGenerator"):
        sdk.log(input="q", output=output, stream=True)
    asyncio.run(output.aclose())


