"""The receiver as OTLP clients see it, on a real socket (its Forwarder on an in-memory exporter):
the official Python OTLP exporter's protobuf and gzip, OTLP/JSON, the status codes and bodies of
the OTLP/HTTP specification, partial success, a token, and an app traced by OpenLLMetry's
OpenAI instrumentation (opentelemetry-instrumentation-openai) in its own process."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.support.openai_server import ANSWER, USAGE, OpenAIServer, model_served
from tests.support.otlp import make_spans, memory_receiver, otlp_json, otlp_request

PAYLOADS = Path(__file__).with_name("payloads")
PROTOBUF, JSON = "application/x-protobuf", "application/json"


@pytest.fixture
def receiver(tmp_path):
    with memory_receiver(tmp_path / "spool", max_body_bytes=256 * 1024) as running:
        yield running


def post(url: str, body: bytes, content_type: str | None, **headers: str) -> httpx.Response:
    if content_type is not None:
        headers["Content-Type"] = content_type
    return httpx.post(url, content=body, headers=headers, trust_env=False, timeout=30)


def a_chat_turn(tracer) -> None:
    with tracer.start_as_current_span("POST /chat", attributes={"session.id": "s-1", "user.id": "ann"}):
        with tracer.start_as_current_span("chat gpt-4o", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 3,
                "gen_ai.usage.cache_read.input_tokens": 1024,
                "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "A color?"}]}]),
                "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Blue"}]}])}):
            pass


@pytest.mark.parametrize("compression", [Compression.Gzip, Compression.NoCompression], ids=["gzip", "plain"])
def test_the_python_otlp_exporter_is_accepted(receiver, compression) -> None:
    spans = make_spans(a_chat_turn)
    exporter = OTLPSpanExporter(endpoint=receiver.url, compression=compression)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()
    [task] = receiver.records("task")
    trace_id = f"{spans[0].context.trace_id:032x}"
    assert (task["task_id"], task["project_id"]) == (f"otlp_{trace_id}", "otlp-test")
    assert (task["input"], task["output"], task["session_id"], task["user_id"]) == ("A color?", "Blue", "s-1", "ann")
    assert (task["prompt_tokens"], task["completion_tokens"], task["cached_tokens"]) == (1200, 3, 1024)
    messages = receiver.messages("span")
    assert {m.key for m, _ in messages} == {f"otlp_{trace_id}".encode()}  # keyed like the task: one partition
    assert sorted((r["name"], r["link_method"], r["session_id"], r["cached_input_tokens"]) for _, r in messages) == [
        ("POST /chat", "otlp", "s-1", None), ("chat gpt-4o", "otlp", "s-1", 1024)]


def test_otlp_json_is_accepted_and_answered_in_json(receiver) -> None:
    response = post(receiver.url, (PAYLOADS / "semconv_messages.json").read_bytes(), "application/json; charset=utf-8")
    assert (response.status_code, response.headers["content-type"], response.json()) == (200, JSON, {})
    [task] = receiver.records("task")
    assert (task["session_id"], task["user_id"], task["cached_tokens"]) == ("conv_6f1c2e", "traveller-3", 2048)
    assert len(receiver.records("span")) == 3


def test_gzip_json_is_accepted(receiver) -> None:
    body = gzip.compress((PAYLOADS / "openllmetry_indexed.json").read_bytes())
    response = post(receiver.url, body, JSON, **{"Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert receiver.records("task")[0]["input"] == "It is 4411-XQ, ordered on Monday."


def half_bad_request() -> dict:
    document = otlp_json(otlp_request(make_spans(a_chat_turn)))
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[0]["traceId"] = "not hex"
    return document


def test_partial_success_in_json(receiver) -> None:
    response = post(receiver.url, json.dumps(half_bad_request()).encode(), JSON)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1 and "trace_id is not a valid 16-byte id" in partial["errorMessage"]
    assert len(receiver.records("span")) == 1


def test_partial_success_in_protobuf(receiver) -> None:
    request = otlp_request(make_spans(a_chat_turn))
    request.resource_spans[0].scope_spans[0].spans[1].span_id = b"\0" * 8
    response = post(receiver.url, request.SerializeToString(), PROTOBUF)
    assert (response.status_code, response.headers["content-type"]) == (200, PROTOBUF)
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 1 and "span_id" in answer.partial_success.error_message


def test_a_full_success_has_no_partial_success(receiver) -> None:
    response = post(receiver.url, otlp_request(make_spans(a_chat_turn)).SerializeToString(), PROTOBUF)
    assert response.status_code == 200 and not ExportTraceServiceResponse.FromString(response.content).HasField("partial_success")


def status_of(response: httpx.Response) -> Status:
    if response.headers["content-type"] == PROTOBUF:
        return Status.FromString(response.content)
    return json_format.Parse(response.text, Status())


@pytest.mark.parametrize("body, content_type, headers, code, says", [
    (b"\x0a\xff\xff", PROTOBUF, {}, 400, "not an OTLP ExportTraceServiceRequest in protobuf"),
    (b'{"resourceSpans": 7}', JSON, {}, 400, "not an OTLP/JSON ExportTraceServiceRequest"),
    (b"not gzip", JSON, {"Content-Encoding": "gzip"}, 400, "not valid gzip"),
    (b"x" * (256 * 1024 + 1), PROTOBUF, {}, 413, "larger than 262,144 bytes"),
    (gzip.compress(b" " * (1 << 24)), JSON, {"Content-Encoding": "gzip"}, 413, "larger than 262,144 bytes"),
    (b"{}", "text/plain", {}, 415, "Content-Type 'text/plain' is not supported"),
    (b"{}", None, {}, 415, "Content-Type 'none' is not supported"),
    (b"{}", JSON, {"Content-Encoding": "br"}, 415, "Content-Encoding 'br' is not supported"),
], ids=["protobuf garbage", "json of the wrong shape", "broken gzip", "too large", "gzip bomb", "text/plain",
        "no content type", "brotli"])
def test_refused_requests_get_a_status_in_their_encoding(receiver, body, content_type, headers, code, says) -> None:
    response = post(receiver.url, body, content_type, **headers)
    assert response.status_code == code
    assert response.headers["content-type"] == (PROTOBUF if content_type == PROTOBUF else JSON)
    status = status_of(response)
    assert says in status.message and status.code == 3
    assert receiver.records("span") == []


def test_only_post_on_the_traces_path(receiver) -> None:
    assert httpx.get(receiver.url, trust_env=False).status_code == 405
    assert post(receiver.url.replace("/v1/traces", "/v1/logs"), b"{}", JSON).status_code == 404


def test_a_token_when_one_is_set(tmp_path) -> None:
    body = otlp_request(make_spans(a_chat_turn)).SerializeToString()
    with memory_receiver(tmp_path / "spool", token="s3cret") as running:
        refused = post(running.url, body, PROTOBUF)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert status_of(refused).code == 16
        assert post(running.url, body, PROTOBUF, Authorization="Bearer wrong").status_code == 401
        assert post(running.url, body, PROTOBUF, Authorization="Bearer s3cret").status_code == 200
        assert len(running.records("span")) == 2


def test_a_resent_request_sends_the_same_events(receiver) -> None:
    """An exporter retrying after a timeout: the pipeline gets the same event ids (counted once)."""
    body = otlp_request(make_spans(a_chat_turn)).SerializeToString()
    for _ in range(2):
        assert post(receiver.url, body, PROTOBUF).status_code == 200
    spans = receiver.records("span")
    assert len(spans) == 4 and len({s["event_id"] for s in spans}) == 2
    assert len(receiver.records("task")) == 1  # the task itself had nothing new


CACHED_USAGE = {**USAGE, "prompt_tokens_details": {"cached_tokens": 16}}
OPENLLMETRY_APP = textwrap.dedent("""
    import sys
    import openai
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    receiver, openai_url = sys.argv[1:3]
    provider = TracerProvider(resource=Resource({"service.name": "openllmetry-app"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver)))
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("handle message", attributes={"session.id": "conv-7", "enduser.id": "zoe"}):
        openai.OpenAI(api_key="sk-test", base_url=openai_url).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "system", "content": "Explain simply."},
                                           {"role": "user", "content": "What is quantum computing?"}])
    provider.shutdown()
""")


def test_an_app_traced_by_openllmetry_becomes_a_task(receiver) -> None:
    with OpenAIServer(usage=CACHED_USAGE) as openai_server:
        done = subprocess.run([sys.executable, "-c", OPENLLMETRY_APP, receiver.url, openai_server.base_url],
                              capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    [task] = receiver.records("task")
    assert (task["input"], task["output"], task["system_prompt"]) == ("What is quantum computing?", ANSWER, "Explain simply.")
    assert (task["model"], task["prompt_tokens"], task["completion_tokens"], task["total_tokens"]) == (
        model_served("gpt-4o-mini"), USAGE["prompt_tokens"], USAGE["completion_tokens"], USAGE["total_tokens"])
    assert (task["session_id"], task["user_id"], task["metadata"]["service.name"]) == ("conv-7", "zoe", "openllmetry-app")
    spans = {s["name"]: s for s in receiver.records("span")}
    assert set(spans) == {"handle message", "openai.chat"}
    llm = spans["openai.chat"]
    assert (llm["provider"], llm["operation"], llm["input_tokens"], llm["cached_input_tokens"]) == (
        "openai", "chat", USAGE["prompt_tokens"], 16)
    assert task["cached_tokens"] == 16
    assert all(s["task_id"] == task["task_id"] and s["link_method"] == "otlp" for s in spans.values())
