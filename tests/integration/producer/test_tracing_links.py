"""`init(tracing=True)` in the SDK: the real `openai` client, traced by the real
opentelemetry-instrumentation-openai, against the local OpenAI-compatible server; span events
read back from the test broker. Each span must land on the right task, keyed by its task_id as
the task is (so that the worker's join finds it): tracer blocks, the next log of the same thread or asyncio
task, the fallbacks, manual steps. Tracing is turned off again after each test."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from tests.support.kafka import consume
from tests.support.openai_server import ANSWER, OpenAIServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server():
    with OpenAIServer() as running:
        yield running


@pytest.fixture
def traced(sdk):
    """phospho re-initialised with tracing=True on the session's settings; tracing off after."""
    settings = sdk._api.init.RUNTIME.settings
    base = {"project_id": settings.project_id, "bootstrap_servers": settings.bootstrap_servers,
            "spool_dir": settings.spool_dir, "version_id": settings.version_id}

    def init(**extra):
        sdk.init(tracing=True, **base, **extra)

    init()
    yield init
    deadline = time.monotonic() + 10
    while sdk.stats()["spans_waiting"] and time.monotonic() < deadline:
        time.sleep(0.05)  # the fallbacks of this test are done before the next test logs
    sdk.init(**base)


@pytest.fixture
def client(server):
    return openai.OpenAI(api_key="k", base_url=server.base_url)


def ask(client, text: str, **extra):
    return client.chat.completions.create(messages=[{"role": "user", "content": text}], model="gpt-4o-mini", **extra)


def marker() -> str:
    return uuid.uuid4().hex[:12]


def spans_with(sdk, broker, tag: str, count: int) -> list[tuple[dict, str]]:
    """Flush, then (record, message key) of the span events whose input text contains `tag`."""
    assert sdk.flush(20), sdk.stats()

    def mine(record):
        return tag in (record["input_text"] or "") or tag in (record["name"] or "")

    got = consume(broker.bootstrap, [broker.topics.spans], until=lambda rs: sum(mine(r) for _, r, _ in rs) >= count)
    found = [(r, m.key().decode()) for _, r, m in got if mine(r)]
    assert len(found) == count, [r["input_text"] for r, _ in found]
    return found


def test_spans_go_to_the_next_log_of_their_thread(sdk, broker, traced, client):
    tag = marker()
    assert sdk.instrumentations == ("openai",)
    ask(client, f"{tag} say a color")
    ask(client, f"{tag} say an animal", max_tokens=5)
    task = sdk.log(input="Give me a color and an animal", output="Blue, otter", user_id=f"ann-{tag}")
    spans = spans_with(sdk, broker, tag, 2)
    for record, key in spans:
        assert (record["task_id"], record["session_id"], record["link_method"]) == (task["task_id"], task["session_id"], "auto")
        assert key == task["task_id"]  # the task's key
        assert (record["name"], record["operation"], record["provider"], record["input_tokens"]) == ("openai.chat", "chat", "openai", 26)
    assert {r["attributes"].get("gen_ai.request.max_tokens") for r, _ in spans} == {None, "5"}


def test_asyncio_tasks_and_threads_each_link_their_own_spans(sdk, broker, traced, server):
    tag = marker()
    aclient = openai.AsyncOpenAI(api_key="k", base_url=server.base_url)
    sync_client = openai.OpenAI(api_key="k", base_url=server.base_url)

    async def one(i: int) -> str:
        await aclient.chat.completions.create(messages=[{"role": "user", "content": f"{tag} async {i}"}], model="gpt-4o-mini")
        await asyncio.sleep((i % 3) / 100)  # the tasks' calls and logs interleave
        return sdk.log(input=f"async {i}", output="ok")["task_id"]

    async def main() -> list[str]:
        return await asyncio.gather(*(one(i) for i in range(20)))

    def in_thread(i: int) -> str:
        ask(sync_client, f"{tag} thread {i}")
        time.sleep((i % 3) / 100)
        return sdk.log(input=f"thread {i}", output="ok")["task_id"]

    task_of = {f"async {i}": t for i, t in enumerate(asyncio.run(main()))}
    with ThreadPoolExecutor(10) as pool:
        task_of.update({f"thread {i}": t for i, t in enumerate(pool.map(in_thread, range(20)))})
    for record, _ in spans_with(sdk, broker, tag, 40):
        which = record["input_text"].split(f"{tag} ", 1)[1]
        assert (record["task_id"], record["link_method"]) == (task_of[which], "auto"), which


def test_a_streamed_call_logged_as_a_stream_is_linked_to_its_log(sdk, broker, traced, client):
    tag = marker()
    stream = ask(client, f"{tag} stream please", stream=True)
    task = sdk.log(input="stream please", output=stream, stream=True)  # the span is still open here
    chunks = [c for c in stream]
    assert len(chunks) > 3
    [(record, _)] = spans_with(sdk, broker, tag, 1)
    assert (record["task_id"], record["link_method"]) == (task["task_id"], "auto")
    assert record["output_text"] == ANSWER and record["attributes"]["gen_ai.is_streaming"] == "true"
    # the instrumentation hands the app a proxy of openai's Stream: phospho follows the stream behind it
    tasks = consume(broker.bootstrap, [broker.topics.tasks], until=lambda rs: any(r["task_id"] == task["task_id"] for _, r, _ in rs))
    logged = next(r for _, r, _ in tasks if r["task_id"] == task["task_id"])
    assert (logged["output"], logged["raw_output_type_name"], logged["stream"]) == (ANSWER, "Stream", True)


def test_context_spans_carry_their_task_and_its_key(sdk, broker, traced, client):
    tag = marker()
    with sdk.tracer():  # generated session: the log gives the block's spans its user_id
        ask(client, f"{tag} generated session")
        first = sdk.log(input="Say good bye", output="Bye", user_id=f"bob-{tag}")
    with sdk.tracer(task_id=f"task-{tag}", session_id=f"chat-{tag}", metadata={"user_id": f"bob-{tag}"}):
        ask(client, f"{tag} explicit session")
        second = sdk.log(input="Say good bye", output="Bye")
    assert second["task_id"] == f"task-{tag}" and second["user_id"] == f"bob-{tag}"
    spans = {r["input_text"].split(f"{tag} ")[1]: (r, key) for r, key in spans_with(sdk, broker, tag, 2)}
    record, key = spans["generated session"]
    assert (record["task_id"], record["link_method"], key) == (first["task_id"], "context", first["task_id"])
    assert (record["session_id"], record["user_id"]) == (first["session_id"], f"bob-{tag}")
    record, key = spans["explicit session"]
    assert (record["task_id"], record["session_id"], key) == (f"task-{tag}", f"chat-{tag}", f"task-{tag}")


def test_a_block_that_raises_restores_the_outer_one_and_sends_its_spans(sdk, broker, traced, client):
    tag = marker()
    with sdk.tracer(task_id=f"outer-{tag}"):
        with pytest.raises(RuntimeError), sdk.tracer(task_id=f"inner-{tag}", session_id=f"s-{tag}"):
            ask(client, f"{tag} inner")
            raise RuntimeError("the pipeline failed")
        assert sdk._tracing.context.current().task_id == f"outer-{tag}"
        ask(client, f"{tag} outer")
        outer = sdk.log(input="outer", output="ok")
    assert sdk._tracing.context.current() is None
    spans = {r["input_text"].split(f"{tag} ")[1]: (r, key) for r, key in spans_with(sdk, broker, tag, 2)}
    assert (spans["inner"][0]["task_id"], spans["inner"][0]["session_id"], spans["inner"][1]) == (
        f"inner-{tag}", f"s-{tag}", f"inner-{tag}")  # a block that never logged: its own task and session
    assert (spans["outer"][0]["task_id"], spans["outer"][0]["session_id"], spans["outer"][1]) == (
        f"outer-{tag}", outer["session_id"], f"outer-{tag}")


def test_a_nested_block_is_a_step_of_the_outer_blocks_session(sdk, broker, traced, client):
    tag = marker()
    with sdk.tracer(session_id=f"chat-{tag}", metadata={"user_id": f"ann-{tag}", "plan": "pro"}):
        with sdk.tracer(task_id=f"step-{tag}", metadata={"stage": "retrieval"}):  # no session of its own
            ask(client, f"{tag} inner step")
            inner = sdk.log(input="retrieve", output="docs")
        with sdk.tracer(session_id=f"other-{tag}"):  # its own session wins
            explicit = sdk.log(input="elsewhere", output="ok")
        outer = sdk.log(input="answer", output="42")
    with sdk.tracer():  # a generated session is inherited too
        with sdk.tracer():
            ask(client, f"{tag} inner of generated")
            generated = sdk.log(input="q", output="a", user_id=f"bob-{tag}")
        outer_generated = sdk.log(input="q", output="a")
    assert (inner["task_id"], inner["session_id"]) == (f"step-{tag}", f"chat-{tag}")
    assert (inner["user_id"], inner["plan"], inner["stage"]) == (f"ann-{tag}", "pro", "retrieval")  # metadata merged
    assert explicit["session_id"] == f"other-{tag}" and explicit["plan"] == "pro" and "stage" not in explicit
    assert outer["session_id"] == f"chat-{tag}" and outer["task_id"] != inner["task_id"] and "stage" not in outer
    assert generated["session_id"] == outer_generated["session_id"] and generated["task_id"] != outer_generated["task_id"]
    spans = {r["input_text"].split(f"{tag} ")[1]: (r, key) for r, key in spans_with(sdk, broker, tag, 2)}
    record, key = spans["inner step"]
    assert (record["task_id"], record["session_id"], key) == (f"step-{tag}", f"chat-{tag}", f"step-{tag}")
    record, key = spans["inner of generated"]
    assert (record["task_id"], record["session_id"], key) == (generated["task_id"], generated["session_id"], generated["task_id"])


def test_trace_decorator_on_coroutines_and_generators(sdk, broker, traced, server, client):
    tag = marker()
    aclient = openai.AsyncOpenAI(api_key="k", base_url=server.base_url)

    @sdk.trace(task_id=f"co-{tag}")
    async def answer() -> str:
        await aclient.chat.completions.create(messages=[{"role": "user", "content": f"{tag} coroutine"}], model="gpt-4o-mini")
        return sdk.log(input="coroutine", output="ok")["task_id"]

    @sdk.trace(task_id=f"gen-{tag}")
    def words():
        yield ask(client, f"{tag} generator").choices[0].message.content
        yield sdk.log(input="generator", output="ok")["task_id"]

    assert asyncio.run(answer()) == f"co-{tag}"
    assert list(words())[1] == f"gen-{tag}"
    assert sdk._tracing.context.current() is None
    spans = {r["input_text"].split(f"{tag} ")[1]: r for r, _ in spans_with(sdk, broker, tag, 2)}
    assert spans["coroutine"]["task_id"] == f"co-{tag}" and spans["generator"]["task_id"] == f"gen-{tag}"
    assert {r["link_method"] for r in spans.values()} == {"context"}


def test_a_child_span_in_a_pool_thread_follows_its_parent(sdk, broker, traced, client):
    from opentelemetry import context as otel_context
    from opentelemetry import trace

    tag = marker()
    tracer = trace.get_tracer("app")

    def worker(parent):  # a pool thread sees neither the tracer block nor the OpenTelemetry context
        token = otel_context.attach(parent)
        try:
            ask(client, f"{tag} in the pool")
        finally:
            otel_context.detach(token)

    with sdk.tracer(task_id=f"parent-{tag}"):
        with tracer.start_as_current_span(f"{tag} pipeline"), ThreadPoolExecutor(1) as pool:
            pool.submit(worker, otel_context.get_current()).result()
        sdk.log(input="pipeline", output="ok")
    spans = spans_with(sdk, broker, tag, 2)
    assert {r["task_id"] for r, _ in spans} == {f"parent-{tag}"}
    pipeline = next(r for r, _ in spans if r["name"] == f"{tag} pipeline")
    child = next(r for r, _ in spans if r["name"] == "openai.chat")
    assert child["parent_span_id"] == pipeline["span_id"] and child["trace_id"] == pipeline["trace_id"]


def test_fallbacks_when_the_execution_context_never_logs(sdk, broker, traced, client):
    traced(trace_link_timeout=0.5)
    tag = marker()
    thread = threading.Thread(target=ask, args=(client, f"{tag} thread that ends"))
    thread.start()
    thread.join()
    later = sdk.log(input="the main thread logs", output="ok")  # the first log after that span
    time.sleep(0.8)
    alone = threading.Thread(target=ask, args=(client, f"{tag} never followed by a log"))
    alone.start()
    alone.join()
    deadline = time.monotonic() + 5
    while sdk.stats()["spans_waiting"] and time.monotonic() < deadline:
        time.sleep(0.05)
    spans = {r["input_text"].split(f"{tag} ")[1]: (r, key) for r, key in spans_with(sdk, broker, tag, 2)}
    record, key = spans["thread that ends"]
    assert (record["task_id"], record["link_method"], key) == (later["task_id"], "auto_time", later["task_id"])
    record, key = spans["never followed by a log"]  # reaches storage anyway, unlinked
    assert (record["task_id"], record["link_method"], key) == (None, None, record["trace_id"])


def test_steps_become_spans_of_their_task(sdk, broker, traced):
    tag = marker()
    task = sdk.log(input="Give me a color and an animal", output="Color: blue, Animal: otter", user_id=f"eve-{tag}",
                   steps=[{"name": f"{tag} OpenAI API call", "input": "Say a color", "output": "blue"},
                          {"name": f"{tag} OpenAI API call", "input": "Say an animal", "output": "otter",
                           "model": "gpt-4o-mini", "retrieval": {"k": 3, "sources": ["a", "b"]}}])
    assert "steps" not in task
    spans = sorted(spans_with(sdk, broker, tag, 2), key=lambda s: s[0]["step_index"])
    assert [(r["step_index"], r["input_text"], r["output_text"]) for r, _ in spans] == [
        (0, "Say a color", "blue"), (1, "Say an animal", "otter")]
    assert {(r["task_id"], r["link_method"], key) for r, key in spans} == {(task["task_id"], "manual", task["task_id"])}
    assert spans[1][0]["attributes"] == {"model": "gpt-4o-mini", "retrieval.k": "3", "retrieval.sources": '["a","b"]'}


def test_tracing_off_sends_no_spans(sdk, broker, traced, client):
    sdk.init(project_id="test-project", bootstrap_servers=broker.bootstrap, spool_dir=sdk._api.init.RUNTIME.settings.spool_dir,
             version_id="test-version")
    with pytest.raises(ValueError, match="tracing=True"):
        with sdk.tracer():
            pass
    tag = marker()
    ask(client, f"{tag} untraced")
    sdk.log(input="untraced", output="ok")
    traced()
    ask(client, f"{tag} traced again")
    sdk.log(input="traced", output="ok")
    assert [r["input_text"] for r, _ in spans_with(sdk, broker, tag, 1)] == [f"{tag} traced again"]


def test_an_application_tracer_provider_is_kept(sdk, broker, server, tmp_path):
    tag = marker()
    script = textwrap.dedent(f"""
        import openai, phospho
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        phospho.init(project_id="app-provider", bootstrap_servers="{broker.bootstrap}", spool_dir="{tmp_path}", tracing=True)
        assert trace.get_tracer_provider() is provider
        client = openai.OpenAI(api_key="k", base_url="{server.base_url}")
        client.chat.completions.create(messages=[{{"role": "user", "content": "{tag} app provider"}}], model="gpt-4o-mini")
        phospho.log(input="app provider", output="ok")
        assert phospho.flush(20)
        assert [s.name for s in exporter.get_finished_spans()] == ["openai.chat"]  # the app's exporter still works
        print(phospho.stats()["queued"])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["2"]  # the task and the span
    [(record, _)] = spans_with(sdk, broker, tag, 1)
    assert record["project_id"] == "app-provider" and record["link_method"] == "auto"
