"""The Kafka key of every event is its task_id (tasks, their spans and steps, feedback), so that
a task, its spans and its feedback meet on one partition whatever process logged them; a span
that found no task is keyed by its trace_id."""

from __future__ import annotations

import tempfile
import uuid

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from phospho._core.queue import UNLINKED, Event, Link
from phospho._core.settings import resolve_settings
from phospho._core.stats import Stats
from phospho._export.encoder import EventEncoder
from phospho._export.kafka import make_serializers


def test_a_task_its_steps_and_its_feedback_are_keyed_by_the_task_id(sdk, wire):
    task_id = f"keys-{uuid.uuid4().hex}"
    sdk.log(input="q", output="a", task_id=task_id, user_id="ann", steps=[{"name": "lookup"}, {"name": "answer"}])
    sdk.user_feedback(task_id, flag="success")
    assert sdk.flush(5)
    mine = [(m.topic, m.key) for m, r in wire.exporter.records() if r["task_id"] == task_id]
    assert sorted(mine) == sorted([("phospho.tasks", task_id.encode()), ("phospho.spans", task_id.encode()),
                                   ("phospho.spans", task_id.encode()), ("phospho.feedback", task_id.encode())])


def test_a_generated_session_does_not_change_the_key(sdk, wire):
    logged = sdk.log(input="q", output="a", user_id="bob")  # no session_id: generated, the user's tasks
    assert sdk.flush(5)
    (message,) = [m for m, r in wire.exporter.records("task") if r["task_id"] == logged["task_id"]]
    assert message.key == logged["task_id"].encode()


def test_a_span_with_no_task_is_keyed_by_its_trace_id():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("test").start_span("orphan").end()
    (span,) = exporter.get_finished_spans()
    settings = resolve_settings(project_id="p", spool_dir=tempfile.mkdtemp())
    encoder = EventEncoder(settings, make_serializers(settings), Stats(), "0")
    orphan = encoder.encode(Event("", {"span": span, "link": UNLINKED}, kind="span"))
    assert orphan.key == f"{span.context.trace_id:032x}".encode()
    linked = encoder.encode(Event("", {"span": span, "link": Link("t-1", "s-1", None, "auto")}, kind="span"))
    assert linked.key == b"t-1"
