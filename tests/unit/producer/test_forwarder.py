"""phospho.Forwarder: tasks and finished spans made elsewhere, through the SDK's pipeline (records,
Avro, keys, exporter) with settings of its own, beside the app's phospho.init."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import phospho
from phospho_schemas.models import SpanEvent, TaskEvent

from tests.support.memory_exporter import MemoryExporter

T0 = 1_763_700_000_000


@pytest.fixture
def forwarded(tmp_path):
    """(forwarder, its MemoryExporter)."""
    exporters: list[MemoryExporter] = []

    def factory(settings, stats):
        exporters.append(MemoryExporter(settings, stats))
        return exporters[-1]

    forwarder = phospho.Forwarder("forwarded-project", spool_dir=tmp_path, exporter=factory)
    yield forwarder, exporters[0]
    forwarder.shutdown(5)


def finished_span(attributes: dict):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("chat gpt-4o", attributes=attributes):
        pass
    return exporter.get_finished_spans()[0]


def test_a_task_is_sent_as_given_with_its_own_project_and_event_id(forwarded):
    forwarder, exporter = forwarded
    forwarder.task({"task_id": "otlp_1", "input": "A color?", "output": "Blue", "session_id": "chat-9", "user_id": "ann",
                    "model": "gpt-4o", "prompt_tokens": 1200, "completion_tokens": 3, "total_tokens": 1203,
                    "cached_tokens": 1024, "system_prompt": "Be brief.",
                    "raw_input": [{"role": "user", "content": "A color?"}], "metadata": {"trace_id": "ab" * 16}},
                   created_at_ms=T0, event_id="e" * 32)
    assert forwarder.flush(10)
    [(message, record)] = exporter.records("task")
    TaskEvent.model_validate(record)
    assert message.key == b"otlp_1" and message.topic == "phospho.tasks"
    assert (record["event_id"], record["project_id"], record["task_id"]) == ("e" * 32, "forwarded-project", "otlp_1")
    assert (record["session_id"], record["session_id_generated"], record["user_id"]) == ("chat-9", False, "ann")
    assert (record["input"], record["output"], record["system_prompt"], record["model"]) == (
        "A color?", "Blue", "Be brief.", "gpt-4o")
    assert (record["prompt_tokens"], record["completion_tokens"], record["total_tokens"], record["cached_tokens"]) == (
        1200, 3, 1203, 1024)
    assert record["created_at"].timestamp() * 1000 == T0
    assert json.loads(record["raw_input"]) == [{"role": "user", "content": "A color?"}]
    assert record["metadata"] == {"trace_id": "ab" * 16} and record["version_id"] is None


def test_a_task_without_session_gets_one_of_its_own_and_a_resend_is_a_second_event(forwarded):
    forwarder, exporter = forwarded
    for output in ("first", "second"):
        forwarder.task({"task_id": "otlp_2", "input": "q", "output": output}, created_at_ms=T0)
    assert forwarder.flush(10)
    records = [record for _, record in exporter.records("task")]
    assert [r["output"] for r in records] == ["first", "second"]  # not merged as phospho.log would
    assert {(r["session_id"], r["session_id_generated"]) for r in records} == {("session_otlp_2", True)}
    assert records[0]["event_id"] != records[1]["event_id"]


def test_a_span_is_recorded_as_the_sdk_records_its_own(forwarded):
    forwarder, exporter = forwarded
    span = finished_span({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                          "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.cache_read.input_tokens": 1024})
    forwarder.span(span, "otlp_3", "chat-9", "ann", "otlp", event_id="f" * 32)
    forwarder.span(span, None, link_method="otlp")  # no task: an orphan, keyed by its trace
    assert forwarder.flush(10)
    (linked_message, linked), (orphan_message, orphan) = exporter.records("span")
    SpanEvent.model_validate(linked)
    trace_id = f"{span.context.trace_id:032x}"
    assert linked_message.key == b"otlp_3" and orphan_message.key == trace_id.encode()
    assert (linked["event_id"], linked["task_id"], linked["session_id"], linked["user_id"], linked["link_method"]) == (
        "f" * 32, "otlp_3", "chat-9", "ann", "otlp")
    assert (linked["trace_id"], linked["provider"], linked["input_tokens"], linked["cached_input_tokens"]) == (
        trace_id, "openai", 1200, 1024)
    assert (orphan["task_id"], orphan["link_method"]) == (None, None)


def test_the_forwarder_leaves_the_apps_runtime_alone(forwarded, wire, sdk):
    forwarder, exporter = forwarded
    sdk.log(input="app question", output="app answer", task_id="app-task")
    forwarder.task({"task_id": "otlp_4", "input": "forwarded"}, created_at_ms=T0)
    assert forwarder.flush(10)
    assert wire.task("app-task")["project_id"] == "test-project"
    assert [r["project_id"] for _, r in exporter.records("task")] == ["forwarded-project"]
    assert not any(r["task_id"] == "otlp_4" for r in wire.records("task"))
    assert forwarder.stats()["delivered"] == 1


def test_bad_settings_are_a_configuration_error(tmp_path):
    with pytest.raises(phospho.ConfigurationError):
        phospho.Forwarder("", spool_dir=tmp_path)
    with pytest.raises(phospho.ConfigurationError):
        phospho.Forwarder("p", spool_dir=tmp_path, max_queue_size=0)
