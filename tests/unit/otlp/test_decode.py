"""Decoding OTLP trace requests: binary protobuf and OTLP/JSON give the same spans (hex ids, enums
as integers or names, 64-bit integers as strings or numbers, unknown fields ignored); a body that
is not a request is a 400 saying why; unusable spans are counted with their reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, Status, StatusCode

from phospho_stream.errors import OtlpRequestError
from phospho_stream.otlp.decode import JSON, PROTOBUF, encoding_of, parse_request
from phospho_stream.otlp.spans import received_spans

from tests.support.otlp import make_spans, otlp_json, otlp_request

PAYLOADS = Path(__file__).with_name("payloads")


def _spans(tracer) -> None:
    with tracer.start_as_current_span("request", kind=SpanKind.SERVER, attributes={"session.id": "s-1"}):
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes={
                "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 2**40, "ratio": 0.5, "ok": True,
                "tags": ("a", "b"), "sizes": (1, 2)}) as span:
            span.add_event("exception", {"exception.type": "TimeoutError", "exception.message": "slow"})
            span.set_status(Status(StatusCode.ERROR, "the model timed out"))


def _view(received) -> list[tuple]:
    return [(s.trace_id, s.span_id, s.parent_span_id, s.start_ns, s.end_ns, s.attributes, s.resource,
             s.readable.name, s.readable.kind, s.readable.status.status_code, s.readable.status.description,
             [(e.name, dict(e.attributes)) for e in s.readable.events]) for s in received.spans]


def test_protobuf_and_json_give_the_same_spans() -> None:
    spans = make_spans(_spans, {"service.name": "shop", "service.version": "3"})
    request = otlp_request(spans)
    from_protobuf = received_spans(parse_request(request.SerializeToString(), PROTOBUF))
    from_json = received_spans(parse_request(json.dumps(otlp_json(request)).encode(), JSON))
    assert _view(from_protobuf) == _view(from_json) and from_protobuf.rejected == 0
    chat = next(s for s in from_json.spans if s.readable.name == "chat gpt-4o")
    root = next(s for s in from_json.spans if s.readable.name == "request")
    original = next(s for s in spans if s.name == "chat gpt-4o")
    assert chat.trace_id == f"{original.context.trace_id:032x}" and chat.span_id == f"{original.context.span_id:016x}"
    assert chat.parent_span_id == root.span_id and root.parent_span_id is None
    assert chat.attributes == {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 2**40, "ratio": 0.5,
                               "ok": True, "tags": ("a", "b"), "sizes": (1, 2)}
    assert (chat.resource["service.name"], chat.resource["service.version"]) == ("shop", "3")
    assert (chat.readable.kind, chat.readable.status.status_code, chat.readable.status.description) == (
        SpanKind.CLIENT, StatusCode.ERROR, "the model timed out")
    assert (chat.start_ns, chat.end_ns) == (original.start_time, original.end_time)


def test_otlp_json_mapping_options_are_all_read() -> None:
    """Enum names, 64-bit integers as JSON numbers, upper-case hex, a map value, unknown fields."""
    received = received_spans(parse_request((PAYLOADS / "semconv_messages.json").read_bytes(), JSON))
    assert received.rejected == 0
    chat, tool, root = received.spans
    assert chat.trace_id == "0af7651916cd43dd8448eb211c80319c" and chat.span_id == "b7ad6b7169203331"
    assert (chat.readable.kind, chat.readable.status.status_code) == (SpanKind.CLIENT, StatusCode.OK)
    assert (root.readable.kind, root.parent_span_id, tool.readable.kind) == (SpanKind.SERVER, None, SpanKind.INTERNAL)
    assert chat.start_ns == 1763700100250000000 and tool.start_ns == 1763700100000000000
    assert chat.attributes["gen_ai.usage.input_tokens"] == 2210 and chat.attributes["gen_ai.usage.output_tokens"] == 41
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert root.attributes["app.flags.beta"] is True  # a map's keys dotted
    assert chat.resource == {"service.name": "travel-agent", "deployment.environment.name": "staging"}


@pytest.mark.parametrize("content_type, expected", [
    ("application/x-protobuf", PROTOBUF), ("application/json", JSON), ("Application/JSON; charset=utf-8", JSON),
    ("application/protobuf", PROTOBUF),
])
def test_content_types(content_type: str, expected: str) -> None:
    assert encoding_of(content_type) == expected


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/grpc", "application/x-www-form-urlencoded"])
def test_other_content_types_are_415(content_type: str | None) -> None:
    with pytest.raises(OtlpRequestError) as info:
        encoding_of(content_type)
    assert info.value.status == 415 and "application/x-protobuf or application/json" in str(info.value)


MALFORMED = {
    "protobuf: not protobuf": (PROTOBUF, b"\xff\xff\xff\xff this is not a message", "not an OTLP ExportTraceServiceRequest in protobuf"),
    "protobuf: a truncated message": (PROTOBUF, otlp_request(make_spans(_spans)).SerializeToString()[:-7], "protobuf"),
    "json: not json": (JSON, b"{resourceSpans: [", "not JSON"),
    "json: not utf-8": (JSON, b'{"resourceSpans": "\xff"}', "not JSON"),
    "json: an array": (JSON, b"[]", "a JSON list, not an ExportTraceServiceRequest"),
    "json: wrong type": (JSON, b'{"resourceSpans": "everything"}', "not an OTLP/JSON ExportTraceServiceRequest"),
    "json: wrong nested type": (JSON, b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5, "kind": "NOPE"}]}]}]}',
                                "not an OTLP/JSON ExportTraceServiceRequest"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_body_is_a_400_saying_why(name: str) -> None:
    encoding, body, reason = MALFORMED[name]
    with pytest.raises(OtlpRequestError) as info:
        parse_request(body, encoding)
    assert info.value.status == 400 and reason in str(info.value) and "\n" not in str(info.value)


def test_an_empty_request_has_no_spans() -> None:
    assert received_spans(parse_request(b"", PROTOBUF)).spans == []
    assert received_spans(parse_request(b"{}", JSON)).spans == []


def test_unusable_spans_are_rejected_with_their_reasons_and_the_rest_kept() -> None:
    good = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175", "name": "ok",
            "startTimeUnixNano": "1763700000000000000", "endTimeUnixNano": "1763700000100000000"}
    spans = [good,
             {**good, "traceId": "not-hex"},
             {**good, "traceId": "00000000000000000000000000000000"},
             {**good, "spanId": "eee19b7e"},
             {**good, "spanId": "eee19b7ec3c1b176", "startTimeUnixNano": "0"},
             {**good, "spanId": "eee19b7ec3c1b177", "endTimeUnixNano": "5"}]  # ends before it starts: kept, end = start
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()
    received = received_spans(parse_request(body, JSON))
    assert [s.span_id for s in received.spans] == ["eee19b7ec3c1b175", "eee19b7ec3c1b177"]
    assert received.spans[1].end_ns == received.spans[1].start_ns
    assert received.rejected == 4
    assert received.error_message == (
        "resourceSpans[0].scopeSpans[0].spans[1]: trace_id is not a valid 16-byte id (32 hex digits in OTLP/JSON); "
        "resourceSpans[0].scopeSpans[0].spans[2]: trace_id is not a valid 16-byte id (32 hex digits in OTLP/JSON); "
        "resourceSpans[0].scopeSpans[0].spans[3]: span_id is not a valid 8-byte id (16 hex digits in OTLP/JSON); "
        "resourceSpans[0].scopeSpans[0].spans[4]: start_time_unix_nano is missing")


def test_the_error_message_names_the_first_reasons_and_counts_the_rest() -> None:
    bad = {"traceId": "zz", "spanId": "eee19b7ec3c1b175", "name": "x", "startTimeUnixNano": "1"}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [bad] * 12}]}]}).encode()
    received = received_spans(parse_request(body, JSON))
    assert received.rejected == 12 and received.error_message.endswith("; and 7 more")
