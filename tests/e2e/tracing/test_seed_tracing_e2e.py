"""Every example of the tracing page (shared/seeds/004_be56a4593a63cf5f.txt), run unchanged as an
app: the real `openai` client, traced by the real opentelemetry-instrumentation-openai, against
the local OpenAI-compatible server; then through Kafka, the faust worker and the sink, down to
rows of the analysts' views, linked to their tasks.

The page's snippets lean on names it defines elsewhere or not at all: `OpenAI` (never imported),
`openai_client` (made in the automatic example), `response` (never assigned; logged as the
output). PREAMBLE provides them; the examples themselves are the page's text, verbatim (checked
against the seed when it is there). The decorator example with ids defines `my_function` without
calling it; its script calls it afterwards.
"""

# ruff: noqa: W291  (the page's examples are kept verbatim, trailing spaces included)
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.openai_server import ANSWER, USAGE, model_served

pytestmark = pytest.mark.e2e

# the seed page as shipped with the project's docs, and the copy kept beside this test so that a
# checkout without ../shared still checks the examples against the page's text
SHARED_SEED = Path(__file__).resolve().parents[4] / "shared" / "seeds" / "004_be56a4593a63cf5f.txt"
SEED = Path(__file__).with_name("seed_004_be56a4593a63cf5f.txt")
README = Path(__file__).resolve().parents[3] / "README.md"

PREAMBLE = '''from openai import OpenAI
openai_client = OpenAI()
response = "Good bye!"
'''

INIT = '''import phospho

phospho.init(tracing=True)'''

AUTOMATIC = '''import phospho

phospho.init(tracing=True)

#\xa0This is your LLM app code
openai_client = OpenAI()
color = openai_client.chat.completions.create(
    messages=[{"role": "user", "content": "Say a color"}],
    model="gpt-4o-mini"
)
animal = openai_client.chat.completions.create(
    messages=[{"role": "user", "content": "Say an animal"}],
    model="gpt-4o-mini",
)

#\xa0This is how you log to phospho
#\xa0All the API calls made by the OpenAI client will me linked to this log
phospho.log(
    input="Give me a color and an animal",
    output=f"Color: {color}, Animal: {animal}",
)'''

CONTEXT_BLOCK = '''with phospho.tracer(): 
    messages = [{"role": "user", "content": "Say good bye"}]
    openai_client.chat.completions.create(
        messages=messages,
        model="gpt-4o-mini",
        max_tokens=1,
    )
    phospho.log(input="Say good bye", output=response)'''

CONTEXT_BLOCK_WITH_IDS = '''with phospho.tracer(
    task_id="some_id", 
    session_id="my_session_id", 
    metadata={"user_id": "bob"}
): 
    messages = [{"role": "user", "content": "Say good bye"}]
    openai_client.chat.completions.create(
        messages=messages,
        model="gpt-4o-mini",
        max_tokens=1,
    )
    phospho.log(input="Say good bye", output=response)'''

DECORATOR = '''@phospho.trace()
def my_function():
    messages = [{"role": "user", "content": "Say good bye"}]
    openai_client.chat.completions.create(
        messages=messages,
        model="gpt-4o-mini",
        max_tokens=1,
    )
    phospho.log(input="Say good bye", output=response)

my_function()'''

DECORATOR_WITH_IDS = '''@phospho.trace(
    task_id="some_id", 
    session_id="my_session_id", 
    metadata={"user_id": "bob"}
)
def my_function():
    messages = [{"role": "user", "content": "Say good bye"}]
    openai_client.chat.completions.create(
        messages=messages,
        model="gpt-4o-mini",
        max_tokens=1,
    )
    phospho.log(input="Say good bye", output=response)'''

MANUAL = '''phospho.log(
    input="Give me a color and an animal",
    output=f"Color: {color}, Animal: {animal}",
    steps=[
        {"name": "OpenAI API call", "input": "Say a color", "output": color},
        {"name": "OpenAI API call", "input": "Say an animal", "output": animal},
    ]
)'''

EXAMPLES = [INIT, AUTOMATIC, CONTEXT_BLOCK, CONTEXT_BLOCK_WITH_IDS, DECORATOR, DECORATOR_WITH_IDS, MANUAL]
CALL = "\nmy_function()\n"

#: the README's transcript query: a task's input, its steps in order, its output
TRANSCRIPT = """SELECT t.task_id AS task_id, t.input AS input, s.step_index AS step_index, s.name AS step,
    s.link_method AS link, s.input_text AS step_input, s.output_text AS step_output, t.output AS output
FROM phospho.tasks AS t
LEFT JOIN phospho.spans AS s ON s.task_id = t.task_id
WHERE t.task_id = {task_id:String}
ORDER BY s.start_time, s.step_index, s.end_time, s.span_id"""

TASKS = """SELECT task_id, session_id, user_id, input, output, span_count, llm_call_count, span_models,
    span_input_tokens, span_output_tokens, llm_latency_ms, llm_wall_ms FROM phospho.tasks
    WHERE version_id = {version:String} ORDER BY created_at, task_id"""
SPANS = """SELECT s.task_id AS task_id, s.session_id AS session_id, s.user_id AS user_id, s.link_method AS link_method,
    s.name AS name, s.step_index AS step_index, s.operation AS operation, s.provider AS provider,
    s.request_model AS request_model, s.response_model AS response_model, s.input_tokens AS input_tokens,
    s.output_tokens AS output_tokens, s.input_text AS input_text, s.output_text AS output_text, s.attributes AS attributes,
    s.orphan AS orphan, s.duration_ms AS duration_ms
    FROM phospho.spans AS s
    WHERE s.task_id IN (SELECT task_id FROM phospho.tasks WHERE version_id = {version:String})
      AND s.start_time >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
    ORDER BY s.start_time, s.step_index, s.end_time"""


def test_the_examples_are_the_seeds_text():
    if SHARED_SEED.exists():  # the copy is the page's current text
        assert SEED.read_text() == SHARED_SEED.read_text()
    blocks = re.findall(r"```python\n(.*?)\n```", SEED.read_text(), flags=re.S)
    assert blocks == EXAMPLES


def run(pipeline, *blocks: str, tasks: int, spans: int) -> tuple[list[dict], list[dict]]:
    """Run the blocks as one app, then its task rows and its linked span rows once all are there
    (spans since the script started: the page logs task "some_id" in two examples)."""
    version, since = pipeline.run("\n".join(blocks) + "\n")
    task_rows = pipeline.wait_for(TASKS, lambda rows: len(rows) >= tasks, version=version)
    span_rows = pipeline.wait_for(SPANS, lambda rows: len(rows) >= spans and not any(r["orphan"] for r in rows),
                                  version=version, since=since)
    task_rows = pipeline.query(TASKS, version=version)  # enriched with every span by now
    assert (len(task_rows), len(span_rows)) == (tasks, spans), (task_rows, span_rows)
    assert not any(r["orphan"] for r in span_rows)
    return task_rows, span_rows


def assert_llm_call(span: dict, prompt: str) -> None:
    assert (span["name"], span["operation"], span["provider"]) == ("openai.chat", "chat", "openai")
    assert (span["request_model"], span["response_model"]) == ("gpt-4o-mini", model_served("gpt-4o-mini"))
    assert (span["input_tokens"], span["output_tokens"]) == (USAGE["prompt_tokens"], USAGE["completion_tokens"])
    assert (span["input_text"], span["output_text"]) == (prompt, ANSWER)


def test_automatic_tracing(pipeline):
    [task], spans = run(pipeline, PREAMBLE, AUTOMATIC, tasks=1, spans=2)
    assert task["input"] == "Give me a color and an animal"
    for span, prompt in zip(spans, ["Say a color", "Say an animal"], strict=True):
        assert_llm_call(span, prompt)
        assert (span["task_id"], span["session_id"], span["link_method"]) == (task["task_id"], task["session_id"], "auto")
    assert (task["span_count"], task["llm_call_count"], task["span_models"]) == (2, 2, [model_served("gpt-4o-mini")])
    assert (task["span_input_tokens"], task["span_output_tokens"]) == (2 * USAGE["prompt_tokens"], 2 * USAGE["completion_tokens"])
    # sequential calls: their wall-clock extent holds their summed latency (the extent comes from
    # ms timestamps, the latency from the spans' us durations: 1 ms of rounding per span)
    assert task["llm_wall_ms"] + len(spans) >= task["llm_latency_ms"] >= sum(s["duration_ms"] for s in spans) - 2
    transcript = pipeline.query(TRANSCRIPT, task_id=task["task_id"])
    assert [(r["input"], r["step"], r["step_input"], r["output"]) for r in transcript] == [
        (task["input"], "openai.chat", "Say a color", task["output"]),
        (task["input"], "openai.chat", "Say an animal", task["output"])]


def good_bye(span: dict, task: dict) -> None:
    assert_llm_call(span, "Say good bye")
    assert span["attributes"]["gen_ai.request.max_tokens"] == "1"
    assert (span["task_id"], span["session_id"], span["user_id"], span["link_method"]) == (
        task["task_id"], task["session_id"], task["user_id"], "context")


def test_context_block(pipeline):
    [task], [span] = run(pipeline, PREAMBLE, INIT, CONTEXT_BLOCK, tasks=1, spans=1)
    assert (task["input"], task["output"], task["span_count"]) == ("Say good bye", "Good bye!", 1)
    good_bye(span, task)


def test_context_block_with_ids(pipeline):
    [task], [span] = run(pipeline, PREAMBLE, INIT, CONTEXT_BLOCK_WITH_IDS, tasks=1, spans=1)
    assert (task["task_id"], task["session_id"], task["user_id"]) == ("some_id", "my_session_id", "bob")
    good_bye(span, task)


def test_decorator(pipeline):
    [task], [span] = run(pipeline, PREAMBLE, INIT, DECORATOR, tasks=1, spans=1)
    assert task["task_id"].startswith("task_") and task["span_count"] == 1
    good_bye(span, task)


def test_decorator_with_ids(pipeline):
    [task], [span] = run(pipeline, PREAMBLE, INIT, DECORATOR_WITH_IDS, CALL, tasks=1, spans=1)
    assert (task["task_id"], task["session_id"], task["user_id"]) == ("some_id", "my_session_id", "bob")
    good_bye(span, task)


def test_manual_tracing(pipeline):
    tasks, spans = run(pipeline, PREAMBLE, AUTOMATIC, MANUAL, tasks=2, spans=4)
    [manual] = [t for t in tasks if any(s["task_id"] == t["task_id"] and s["link_method"] == "manual" for s in spans)]
    steps = [s for s in spans if s["task_id"] == manual["task_id"]]
    assert {s["link_method"] for s in spans if s not in steps} == {"auto"}  # the calls went to the first log
    assert [(s["name"], s["step_index"], s["input_text"], s["link_method"]) for s in steps] == [
        ("OpenAI API call", 0, "Say a color", "manual"), ("OpenAI API call", 1, "Say an animal", "manual")]
    for step in steps:  # the steps' outputs are ChatCompletion objects: read as phospho reads an output
        assert (step["output_text"], step["session_id"], step["response_model"]) == (
            ANSWER, manual["session_id"], model_served("gpt-4o-mini"))
        assert (step["input_tokens"], step["output_tokens"]) == (USAGE["prompt_tokens"], USAGE["completion_tokens"])
    transcript = pipeline.query(TRANSCRIPT, task_id=manual["task_id"])
    assert [(r["step_index"], r["step_input"]) for r in transcript] == [(0, "Say a color"), (1, "Say an animal")]


def test_the_whole_page_as_one_app(pipeline):
    """Every example in the page's order, in one process: six logs of five tasks, eight spans
    (task "some_id" is logged by two examples, and gets the spans of both)."""
    tasks, spans = run(pipeline, PREAMBLE, *EXAMPLES, CALL, tasks=5, spans=8)
    by_task: dict[str, list[dict]] = {}
    for span in spans:
        by_task.setdefault(span["task_id"], []).append(span)
    links = {t["task_id"]: sorted(s["link_method"] for s in by_task.get(t["task_id"], [])) for t in tasks}
    assert sorted(links.values()) == sorted([["auto", "auto"], ["context"], ["context", "context"], ["context"],
                                             ["manual", "manual"]])
    assert links["some_id"] == ["context", "context"]
    assert all(s["session_id"] == t["session_id"] for t in tasks for s in by_task.get(t["task_id"], []))


def test_the_readme_documents_the_transcript_query():
    assert TRANSCRIPT in README.read_text()
