"""An OTLP/HTTP trace export request, from its body: binary protobuf, or OTLP/JSON (the protobuf
JSON mapping with OTLP's differences: trace and span ids as hex, not base64; enums as integers
or names; 64-bit integers as numbers or strings; unknown fields ignored)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ..errors import OtlpRequestError

__all__ = ["PROTOBUF", "JSON", "encoding_of", "answer_encoding", "parse_request"]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_ID_FIELDS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")


def encoding_of(content_type: str | None) -> str:
    """PROTOBUF or JSON from a Content-Type header (parameters such as charset ignored); 415 otherwise."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if media == JSON:
        return JSON
    shown = media or "none"
    raise OtlpRequestError(415, f"Content-Type {shown!r} is not supported: send {PROTOBUF} or {JSON}")


def answer_encoding(content_type: str | None) -> str:
    """The encoding of the answer, refusals included: the request's when it is protobuf, else JSON."""
    try:
        return encoding_of(content_type)
    except OtlpRequestError:
        return JSON


def parse_request(body: bytes, encoding: str) -> ExportTraceServiceRequest:
    """The request, or OtlpRequestError 400 saying what is wrong with the body."""
    if encoding == PROTOBUF:
        try:
            return ExportTraceServiceRequest.FromString(body)
        except DecodeError as exc:
            raise OtlpRequestError(400, f"the body is not an OTLP ExportTraceServiceRequest in protobuf ({exc})") from None
    try:
        document = json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError included
        raise OtlpRequestError(400, f"the body is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise OtlpRequestError(400, f"the body is a JSON {type(document).__name__}, not an ExportTraceServiceRequest object")
    _ids_to_base64(document)
    try:
        return json_format.ParseDict(document, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise OtlpRequestError(400, f"the body is not an OTLP/JSON ExportTraceServiceRequest ({exc})") from None


def _ids_to_base64(document: dict[str, Any]) -> None:
    """OTLP/JSON ids are hex; the protobuf JSON parser reads bytes as base64. An id that is not
    hex becomes empty: a span without its trace or span id is rejected (partial success) rather
    than the request; without its parent id it is read as a root span."""
    for resource in _items(document, "resourceSpans", "resource_spans"):
        for scope in _items(resource, "scopeSpans", "scope_spans"):
            for span in _items(scope, "spans"):
                _fix_ids(span)
                for link in _items(span, "links"):
                    _fix_ids(link)


def _items(parent: Any, *names: str) -> list[Any]:
    if not isinstance(parent, dict):
        return []
    for name in names:
        value = parent.get(name)
        if isinstance(value, list):
            return value
    return []


def _fix_ids(item: Any) -> None:
    if not isinstance(item, dict):
        return
    for name in _ID_FIELDS:
        value = item.get(name)
        if value is None:
            continue
        try:
            item[name] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
        except (TypeError, ValueError, binascii.Error):
            item[name] = ""
