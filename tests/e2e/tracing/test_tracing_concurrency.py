"""Tracing under concurrency and streaming, end to end to the analysts' views: 50 threads and 50
asyncio tasks at once, each making LLM calls inside its own tracer context, and streamed calls
(the openai stream as the log's output, and consumed inside a tracer block)."""

from __future__ import annotations

import textwrap

import pytest

from tests.support.openai_server import ANSWER, USAGE

pytestmark = pytest.mark.e2e

CONCURRENT = textwrap.dedent('''
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import openai
    import phospho

    phospho.init(tracing=True)
    client, aclient = openai.OpenAI(), openai.AsyncOpenAI()

    def in_thread(i):  # an explicit session: the key is known when the block starts
        with phospho.tracer(session_id=f"thread-session-{i}"):
            for j in range(2):
                client.chat.completions.create(messages=[{"role": "user", "content": f"thread {i} call {j}"}],
                                               model="gpt-4o-mini")
            phospho.log(input=f"thread {i}", output="ok", user_id=f"user-{i % 7}")

    @phospho.trace()  # a generated session: the key is the user id given to the log
    async def in_task(i):
        for j in range(2):
            await aclient.chat.completions.create(messages=[{"role": "user", "content": f"task {i} call {j}"}],
                                                  model="gpt-4o-mini")
            await asyncio.sleep(0)
        phospho.log(input=f"task {i}", output="ok", user_id=f"user-{i % 7}")

    async def main():
        await asyncio.gather(*(in_task(i) for i in range(50)))

    with ThreadPoolExecutor(50) as pool:
        threads = [pool.submit(in_thread, i) for i in range(50)]
        asyncio.run(main())
        for done in threads:
            done.result()
''')

STREAMS = textwrap.dedent('''
    import openai
    import phospho

    phospho.init(tracing=True)
    client = openai.OpenAI()
    stream = client.chat.completions.create(messages=[{"role": "user", "content": "stream as the output"}],
                                            model="gpt-4o-mini", stream=True, stream_options={"include_usage": True})
    phospho.log(input="stream as the output", output=stream, stream=True)
    for chunk in stream:
        pass
    with phospho.tracer(session_id="streams"):
        stream = client.chat.completions.create(messages=[{"role": "user", "content": "stream in a block"}],
                                                model="gpt-4o-mini", stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        phospho.log(input="stream in a block", output=text, user_id="sam")
''')

TASKS = """SELECT task_id, input, output, session_id, user_id, span_count, llm_call_count FROM phospho.tasks
    WHERE version_id = {version:String}"""
SPANS = """SELECT s.task_id AS task_id, s.session_id AS session_id, s.user_id AS user_id, s.link_method AS link_method,
    s.input_text AS input_text, s.output_text AS output_text, s.input_tokens AS input_tokens,
    s.output_tokens AS output_tokens, s.orphan AS orphan
    FROM phospho.spans AS s WHERE s.task_id IN (SELECT task_id FROM phospho.tasks WHERE version_id = {version:String})"""


def linked_rows(pipeline, code: str, tasks: int, spans: int) -> tuple[dict[str, dict], list[dict]]:
    version, _ = pipeline.run(code)
    pipeline.wait_for(SPANS, lambda rows: len(rows) >= spans and not any(r["orphan"] for r in rows), timeout=90,
                      version=version)
    task_rows = pipeline.wait_for(TASKS, lambda rows: len(rows) >= tasks and all(r["span_count"] for r in rows),
                                  version=version)
    span_rows = pipeline.query(SPANS, version=version)
    assert (len(task_rows), len(span_rows)) == (tasks, spans)
    return {t["task_id"]: t for t in task_rows}, span_rows


def test_fifty_threads_and_fifty_asyncio_tasks_each_get_their_own_spans(pipeline):
    tasks, spans = linked_rows(pipeline, CONCURRENT, tasks=100, spans=200)
    for span in spans:
        task = tasks[span["task_id"]]
        assert span["input_text"].rsplit(" call ", 1)[0] == task["input"], (span, task)  # "thread 7 call 1" -> "thread 7"
        assert (span["link_method"], span["orphan"]) == ("context", False)
        assert (span["session_id"], span["user_id"]) == (task["session_id"], task["user_id"])
    assert {(t["span_count"], t["llm_call_count"]) for t in tasks.values()} == {(2, 2)}
    assert {t["session_id"] for t in tasks.values() if t["input"].startswith("thread")} == {f"thread-session-{i}" for i in range(50)}


def test_streamed_calls(pipeline):
    tasks, spans = linked_rows(pipeline, STREAMS, tasks=2, spans=2)
    by_input = {tasks[s["task_id"]]["input"]: (s, tasks[s["task_id"]]) for s in spans}
    span, task = by_input["stream as the output"]
    assert (span["link_method"], span["output_text"], task["output"]) == ("auto", ANSWER, ANSWER)
    assert (span["input_tokens"], span["output_tokens"]) == (USAGE["prompt_tokens"], USAGE["completion_tokens"])
    span, task = by_input["stream in a block"]
    assert (span["link_method"], span["output_text"], task["output"], task["session_id"]) == ("context", ANSWER, ANSWER, "streams")
