"""The spans of a decoded OTLP request, each as an OpenTelemetry SDK `ReadableSpan` (what the
phospho SDK records) with its ids in hex and its attributes as Python values; the spans that
cannot be used (no valid trace or span id, no start time) are counted, with why."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

__all__ = ["ReceivedSpan", "Received", "received_spans", "attributes_of"]

#: OTLP's SpanKind (0 unspecified .. 5 consumer) -> the SDK's
_KINDS = (SpanKind.INTERNAL, SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER)
_STATUS = (StatusCode.UNSET, StatusCode.OK, StatusCode.ERROR)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_SHOWN_PROBLEMS = 5
#: the ReadableSpan's resource: the records do not read it, and the SDK's Resource would check (and
#: log about) every received value; the resource's attributes stay in ReceivedSpan.resource
_NO_RESOURCE = Resource.get_empty()


@dataclass(frozen=True, slots=True)
class ReceivedSpan:
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_span_id: str | None
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]  # flat: a map value's keys are dotted
    resource: dict[str, Any]
    readable: ReadableSpan


@dataclass(slots=True)
class Received:
    spans: list[ReceivedSpan] = field(default_factory=list)
    rejected: int = 0
    problems: list[str] = field(default_factory=list)  # the first few reasons

    def reject(self, where: str, why: str) -> None:
        self.rejected += 1
        if len(self.problems) < _SHOWN_PROBLEMS:
            self.problems.append(f"{where}: {why}")

    @property
    def error_message(self) -> str:
        more = self.rejected - len(self.problems)
        return "; ".join(self.problems) + (f"; and {more} more" if more > 0 else "")


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(_value(item) for item in value.array_value.values)
    if kind == "kvlist_value":
        return {item.key: _value(item.value) for item in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return getattr(value, kind)


def attributes_of(key_values: Any) -> dict[str, Any]:
    """OTLP KeyValues as a flat dict: scalars, tuples for arrays, a map's keys dotted under its key."""
    out: dict[str, Any] = {}

    def put(key: str, value: Any, depth: int) -> None:
        if isinstance(value, dict) and value and depth < 16:
            for name, item in value.items():
                put(f"{key}.{name}", item, depth + 1)
        else:
            out[key] = value

    for kv in key_values:
        put(kv.key, _value(kv.value), 0)
    return out


def _problem(span: Any) -> str | None:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return "trace_id is not a valid 16-byte id (32 hex digits in OTLP/JSON)"
    if len(span.span_id) != 8 or not any(span.span_id):
        return "span_id is not a valid 8-byte id (16 hex digits in OTLP/JSON)"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return "parent_span_id is not an 8-byte id"
    if not span.start_time_unix_nano:
        return "start_time_unix_nano is missing"
    return None


def _readable(span: Any, attributes: dict[str, Any], scope: InstrumentationScope, trace_id: int,
              end_ns: int) -> ReadableSpan:
    parent = (SpanContext(trace_id, int.from_bytes(span.parent_span_id, "big"), True, _SAMPLED)
              if span.parent_span_id and any(span.parent_span_id) else None)
    code = _STATUS[span.status.code] if 0 <= span.status.code < len(_STATUS) else StatusCode.UNSET
    status = Status(code, span.status.message or None) if code is StatusCode.ERROR else Status(code)
    events = tuple(Event(event.name, attributes_of(event.attributes), event.time_unix_nano) for event in span.events)
    kind = _KINDS[span.kind] if 0 <= span.kind < len(_KINDS) else SpanKind.INTERNAL
    return ReadableSpan(span.name, SpanContext(trace_id, int.from_bytes(span.span_id, "big"), True, _SAMPLED), parent,
                        _NO_RESOURCE, attributes, events, (), kind, None, status, span.start_time_unix_nano, end_ns, scope)


def received_spans(request: ExportTraceServiceRequest) -> Received:
    """Every usable span of `request`; the others counted in `rejected`, with their reasons."""
    received = Received()
    for r, resource_spans in enumerate(request.resource_spans):
        resource_attributes = attributes_of(resource_spans.resource.attributes)
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            scope = InstrumentationScope(scope_spans.scope.name, scope_spans.scope.version or None)
            for p, span in enumerate(scope_spans.spans):
                problem = _problem(span)
                if problem is not None:
                    received.reject(f"resourceSpans[{r}].scopeSpans[{s}].spans[{p}]", problem)
                    continue
                attributes = attributes_of(span.attributes)
                trace_id = int.from_bytes(span.trace_id, "big")
                end_ns = max(span.end_time_unix_nano, span.start_time_unix_nano)
                received.spans.append(ReceivedSpan(
                    f"{trace_id:032x}", span.span_id.hex(),
                    span.parent_span_id.hex() if span.parent_span_id and any(span.parent_span_id) else None,
                    span.start_time_unix_nano, end_ns, attributes, resource_attributes,
                    _readable(span, attributes, scope, trace_id, end_ns)))
    return received
