"""Traces from other apps' OpenTelemetry SDKs, through `phospho-stream up`'s OTLP receiver, to what an
analyst reads with `phospho-stream query`: a Python app on the official OTLP/HTTP protobuf exporter
(opentelemetry-exporter-otlp-proto-http), retrying one export, and a Node app on the JS SDK's OTLP
HTTP exporter (@opentelemetry/exporter-trace-otlp-http, JSON with gzip)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.e2e

PYTHON_APP = textwrap.dedent("""
    import json, sys
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    endpoint = sys.argv[1] + "/v1/traces"
    kept = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "py-chat", "service.version": "1.4.0"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    provider.add_span_processor(SimpleSpanProcessor(kept))
    tracer = provider.get_tracer("app")
    turns = [("Can I return shoes after 30 days?", "Yes, within 60 days with the receipt.", 0),
             ("And without the receipt?", "Then we offer store credit.", 896)]
    traces = []
    for question, answer, cached in turns:
        with tracer.start_as_current_span("POST /support", attributes={"enduser.id": "py-user-1"}) as root:
            with tracer.start_as_current_span("retrieve policies"):
                pass
            with tracer.start_as_current_span("chat gpt-4o", attributes={
                    "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
                    "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.conversation.id": "py-session-1",
                    "gen_ai.usage.input_tokens": 1100, "gen_ai.usage.output_tokens": 12,
                    "gen_ai.usage.cache_read.input_tokens": cached,
                    "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": question}]}]),
                    "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": answer}]}])}):
                pass
        traces.append(format(root.get_span_context().trace_id, "032x"))
    provider.shutdown()
    retry = OTLPSpanExporter(endpoint=endpoint)  # an exporter that resends a batch it thinks was lost
    retry.export([s for s in kept.get_finished_spans() if format(s.context.trace_id, "032x") == traces[0]])
    retry.shutdown()
    print(json.dumps(traces))
""")


def test_a_python_app_on_the_otlp_protobuf_exporter(up) -> None:
    done = subprocess.run([sys.executable, "-c", PYTHON_APP, up.endpoint], env=up.env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = (f"otlp_{t}" for t in json.loads(done.stdout))
    where = f"task_id IN ('{first}', '{second}')"
    tasks = up.wait_for(f"SELECT task_id, input, output, session_id, user_id, model, prompt_tokens, completion_tokens, "
                        f"cached_tokens, version_id, span_count, llm_call_count FROM phospho.tasks WHERE {where}",
                        lambda rows: len(rows) == 2 and all(r["span_count"] == 3 for r in rows))
    tasks.sort(key=lambda t: t["task_id"] != first)  # the turns may share a millisecond
    assert [(t["task_id"], t["input"], t["output"]) for t in tasks] == [
        (first, "Can I return shoes after 30 days?", "Yes, within 60 days with the receipt."),
        (second, "And without the receipt?", "Then we offer store credit.")]
    for task in tasks:
        assert (task["session_id"], task["user_id"], task["model"], task["version_id"]) == (
            "py-session-1", "py-user-1", "gpt-4o-2024-08-06", "1.4.0")
        assert (task["prompt_tokens"], task["completion_tokens"], task["llm_call_count"]) == (1100, 12, 1)
    assert [t["cached_tokens"] for t in tasks] == [0, 896]

    spans = up.query(f"SELECT task_id, name, link_method, session_id, user_id, cached_input_tokens, orphan "
                     f"FROM phospho.spans WHERE {where} ORDER BY task_id = '{second}', name")
    assert len(spans) == 6  # the retried export added nothing
    assert {(s["link_method"], s["session_id"], s["user_id"], s["orphan"]) for s in spans} == {
        ("otlp", "py-session-1", "py-user-1", False)}
    assert [s["cached_input_tokens"] for s in spans if s["name"] == "chat gpt-4o"] == [0, 896]

    [session] = up.wait_for("SELECT session_id, user_id, task_count FROM phospho.sessions WHERE session_id = 'py-session-1'",
                            lambda rows: len(rows) == 1 and rows[0]["task_count"] == 2)
    assert session["user_id"] == "py-user-1"
    [project] = up.query(f"SELECT DISTINCT project_id FROM phospho.tasks WHERE {where}")
    assert project["project_id"] == "otlp-e2e"


def test_a_node_app_on_the_js_sdk_otlp_http_exporter(up, node_app) -> None:
    done = subprocess.run(["node", "emit.mjs", up.endpoint], cwd=node_app, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    ids = {name: f"otlp_{trace_id}" for name, trace_id in json.loads(done.stdout).items()}
    where = f"task_id IN ('{ids['semconv']}', '{ids['openllmetry']}')"
    tasks = {t["task_id"]: t for t in up.wait_for(
        f"SELECT task_id, input, output, system_prompt, session_id, user_id, model, total_tokens, cached_tokens, version_id, "
        f"span_count FROM phospho.tasks WHERE {where}", lambda rows: len(rows) == 2 and all(r["span_count"] == 2 for r in rows))}
    semconv, openllmetry = tasks[ids["semconv"]], tasks[ids["openllmetry"]]
    assert (semconv["input"], semconv["output"], semconv["system_prompt"]) == (
        "How long do I boil an egg?", "Nine minutes for a hard-boiled egg.", "You are a concise cooking assistant.")
    assert (semconv["model"], semconv["total_tokens"], semconv["cached_tokens"]) == ("gpt-4o-mini-2024-07-18", 1368, 1024)
    assert (openllmetry["input"], openllmetry["output"], openllmetry["total_tokens"]) == ("And a soft-boiled one?", "Six minutes.", 44)
    for task in tasks.values():
        assert (task["session_id"], task["user_id"], task["version_id"]) == ("node-session-1", "node-user-1", "0.9.0")

    spans = up.query(f"SELECT task_id, name, kind, status_code, link_method, session_id, user_id FROM phospho.spans "
                     f"WHERE {where} ORDER BY task_id, name")
    assert sorted((s["task_id"], s["name"], s["kind"], s["status_code"]) for s in spans) == sorted([
        (ids["semconv"], "POST /chat", "SERVER", "UNSET"), (ids["semconv"], "chat gpt-4o-mini", "CLIENT", "OK"),
        (ids["openllmetry"], "POST /chat", "SERVER", "UNSET"), (ids["openllmetry"], "openai.chat", "CLIENT", "OK")])
    assert {(s["link_method"], s["session_id"], s["user_id"]) for s in spans} == {("otlp", "node-session-1", "node-user-1")}
    [session] = up.wait_for("SELECT task_count FROM phospho.sessions WHERE session_id = 'node-session-1'",
                            lambda rows: len(rows) == 1 and rows[0]["task_count"] == 2)
