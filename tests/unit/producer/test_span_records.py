"""Span events as the sender builds them: the GenAI typed fields (current and older semantic
conventions), records from real OpenTelemetry spans (a local TracerProvider, not the global
one), manual steps (flattened attributes, lists as JSON, timing), and that every record is valid
for the Avro contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from phospho._core.queue import UNLINKED, Link
from phospho._export.span_records import span_record
from phospho.genai import genai_fields, genai_messages, messages_text
from phospho_schemas import SingleObjectSerializer, raw_schema
from phospho_schemas.models import SpanEvent

SERIALIZE = SingleObjectSerializer(raw_schema("span"))
LINK = Link("task-1", "session-1", "ann", "auto")


def finished_span(name: str, attributes: dict, error: Exception | None = None):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("parent"):
        with tracer.start_as_current_span(name, attributes=attributes) as span:
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR))
    return exporter.get_finished_spans()[0]


def record_of(payload: dict, errors: list[str] | None = None, limit: int = 200_000) -> dict:
    record = span_record(payload, errors or [], "p", 1_763_700_000_000, limit, "0.1.0")
    SERIALIZE(record)  # valid for the Avro contract
    SpanEvent.model_validate(record)
    return record


def test_current_semantic_conventions():
    fields = genai_fields({
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.input_tokens": 26, "gen_ai.usage.output_tokens": 12,
        "gen_ai.input.messages": json.dumps([{"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
                                             {"role": "user", "parts": [{"type": "text", "content": "Say a color"}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Blue"}]}]),
    })
    assert fields == {"operation": "chat", "provider": "openai", "request_model": "gpt-4o-mini",
                      "response_model": "gpt-4o-mini-2024-07-18", "input_tokens": 26, "output_tokens": 12,
                      "cached_input_tokens": None, "input_text": "system: Be brief.\nuser: Say a color",
                      "output_text": "Blue"}


@pytest.mark.parametrize("name", [
    "gen_ai.usage.cache_read.input_tokens",  # the semantic conventions (opentelemetry-instrumentation-openai 0.5x+)
    "gen_ai.usage.cache_read_input_tokens",  # OpenLLMetry before semantic-conventions-ai 0.5
    "gen_ai.usage.input_tokens.cached",
    "gen_ai.usage.input_tokens_details.cached_tokens",
    "llm.token_count.prompt_details.cache_read",  # OpenInference
    "usage.prompt_tokens_details.cached_tokens",  # a step's OpenAI usage, flattened
])
def test_cached_input_tokens_under_each_name(name):
    assert genai_fields({"gen_ai.usage.input_tokens": 1200, name: "1024"})["cached_input_tokens"] == 1024


def test_genai_messages_in_one_shape():
    new = genai_messages({
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]},
                                             {"role": "assistant", "parts": [{"type": "text", "content": "Hello"}]},
                                             {"role": "user", "parts": [{"type": "text", "content": "A color?"}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "finish_reason": "stop",
                                               "parts": [{"type": "text", "content": "Blue"}]}]),
    })
    assert new == ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "A color?"}],
                   [{"role": "assistant", "content": "Blue"}])
    old = genai_messages({"gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "A color?",
                          "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "Be brief.",
                          "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "Blue"})
    assert old == ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "A color?"}],
                   [{"role": "assistant", "content": "Blue"}])
    assert genai_messages({"gen_ai.prompt": "plain text", "gen_ai.completion": "answer"}) == (
        [{"role": "user", "content": "plain text"}], [{"role": "assistant", "content": "answer"}])
    assert genai_messages({}) == ([], [])


def test_older_names_are_accepted():
    fields = genai_fields({
        "llm.request.type": "chat", "gen_ai.system": "Anthropic", "gen_ai.request.model": "claude-3-5-haiku",
        "gen_ai.usage.prompt_tokens": 9, "gen_ai.usage.completion_tokens": "4",
        "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "Say an animal",
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "Otter",
    })
    assert (fields["operation"], fields["provider"], fields["input_tokens"], fields["output_tokens"]) == ("chat", "Anthropic", 9, 4)
    assert (fields["input_text"], fields["output_text"]) == ("Say an animal", "Otter")
    plain = genai_fields({"model": "mistral-small", "usage": None, "prompt_tokens": 3.0, "completion_tokens": 2})
    assert (plain["request_model"], plain["input_tokens"], plain["output_tokens"]) == ("mistral-small", 3, 2)
    assert genai_fields({"llm.request.type": "completion"})["operation"] == "text_completion"


def test_messages_text_forms():
    assert messages_text([{"role": "user", "content": "hi"}]) == "hi"
    assert messages_text('[{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]') == "a\nb"
    assert messages_text("not json") == "not json"
    tool = messages_text([{"role": "assistant", "parts": [{"type": "tool_call", "name": "search"}]}])
    assert json.loads(tool) == {"type": "tool_call", "name": "search"}


def test_record_of_an_opentelemetry_span():
    span = finished_span("openai.chat", {"gen_ai.operation.name": "chat", "gen_ai.system": "openai",
                                         "gen_ai.usage.input_tokens": 26, "gen_ai.response.finish_reasons": ("stop",),
                                         "gen_ai.prompt.0.content": "Say a color"})
    record = record_of({"span": span, "link": LINK})
    ctx = span.context
    assert record["trace_id"] == f"{ctx.trace_id:032x}" and record["span_id"] == f"{ctx.span_id:016x}"
    assert record["parent_span_id"] == f"{span.parent.span_id:016x}"
    assert (record["name"], record["kind"], record["status_code"]) == ("openai.chat", "INTERNAL", "UNSET")
    assert (record["task_id"], record["session_id"], record["user_id"], record["link_method"]) == ("task-1", "session-1", "ann", "auto")
    assert (record["operation"], record["provider"], record["input_tokens"], record["input_text"]) == ("chat", "openai", 26, "Say a color")
    assert record["start_time"] == span.start_time // 1_000_000 and record["duration_us"] == (span.end_time - span.start_time) // 1000
    assert record["attributes"]["gen_ai.response.finish_reasons"] == '["stop"]'  # a list kept as JSON
    assert json.loads(record["attributes_json"])["gen_ai.usage.input_tokens"] == 26


def test_a_failed_span_carries_status_and_error():
    span = finished_span("openai.chat", {}, error=TimeoutError("the model took too long"))
    record = record_of({"span": span, "link": UNLINKED})
    assert record["status_code"] == "ERROR"
    assert record["status_message"] == "TimeoutError: the model took too long"
    assert record["task_id"] is None and record["link_method"] is None


def step_payload(step, index=0, logged_ms=1_763_700_000_000):
    return {"step": step, "index": index, "link": Link("task-1", "s", None, "manual"), "trace_id": 7 << 100,
            "span_id": 42, "logged_ms": logged_ms}


def test_a_step_keeps_every_key():
    record = record_of(step_payload({
        "name": "retrieval", "input": "capital of France?", "output": ["doc 1", "doc 2"],
        "retriever": {"index": "wiki", "params": {"k": 2, "filters": ["fr", "geo"]}}, "score": 0.92, "cached": False,
    }, index=3))
    assert (record["name"], record["step_index"], record["link_method"], record["kind"]) == ("retrieval", 3, "manual", "INTERNAL")
    assert record["input_text"] == "capital of France?" and json.loads(record["output_text"]) == ["doc 1", "doc 2"]
    assert record["attributes"] == {"retriever.index": "wiki", "retriever.params.k": "2",
                                    "retriever.params.filters": '["fr","geo"]', "score": "0.92", "cached": "false"}
    assert json.loads(record["attributes_json"])["retriever"]["params"]["filters"] == ["fr", "geo"]
    assert record["trace_id"] == f"{7 << 100:032x}" and record["span_id"] == f"{42:016x}"
    assert record["start_time"] == record["end_time"] == 1_763_700_000_000 and record["duration_us"] is None


@pytest.mark.parametrize(("timing", "start", "end", "duration_us"), [
    ({"start_time": 1_763_700_000.25, "end_time": 1_763_700_001.5}, 1_763_700_000_250, 1_763_700_001_500, 1_250_000),
    ({"start_time": datetime(2025, 11, 21, tzinfo=UTC), "duration": 2}, 1_763_683_200_000, 1_763_683_202_000, 2_000_000),
    ({"end_time": "2025-11-21T00:00:01+00:00", "duration_ms": 500}, 1_763_683_200_500, 1_763_683_201_000, 500_000),
    ({"duration_ms": 40}, 1_763_700_000_000, 1_763_700_000_040, 40_000),
])
def test_step_timing(timing, start, end, duration_us):
    record = record_of(step_payload({"name": "rerank", **timing}))
    assert (record["start_time"], record["end_time"], record["duration_us"]) == (start, end, duration_us)
    assert record["attributes"] == {}


def test_odd_steps_never_fail():
    record = record_of(step_payload("just a string", index=1))
    assert (record["name"], record["output_text"], record["step_index"]) == ("step 1", "just a string", 1)
    bad_time = record_of(step_payload({"name": "x", "start_time": "yesterday", "error": "index offline"}))
    assert any("start_time" in e for e in bad_time["errors"])
    assert (bad_time["status_code"], bad_time["status_message"]) == ("ERROR", "index offline")
    long = record_of(step_payload({"name": "big", "output": "x" * 5000, "blob": "y" * 5000}), limit=1000)
    assert len(long["output_text"]) == 1000 and len(long["attributes"]["blob"]) == 1000
    assert any("truncated" in e for e in long["errors"])
    typed = record_of(step_payload({"name": "llm", "model": "gpt-4o", "usage": {"prompt_tokens": 5, "completion_tokens": 7},
                                    "gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat"}))
    assert (typed["request_model"], typed["input_tokens"], typed["output_tokens"], typed["provider"]) == ("gpt-4o", 5, 7, "openai")
