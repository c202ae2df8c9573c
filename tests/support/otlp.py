"""OTLP for the receiver's tests: spans made by the OpenTelemetry SDK, encoded by the OTLP
exporter's own encoder (protobuf) or in OTLP/JSON (hex ids), and a running receiver whose
Forwarder keeps what it sends in memory (tests/support/memory_exporter.py)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import phospho
from phospho_stream.otlp import OtlpReceiver

from tests.support.memory_exporter import MemoryExporter

__all__ = ["make_spans", "otlp_request", "otlp_json", "memory_receiver", "MemoryReceiver"]


def make_spans(build: Callable[[Any], None], resource: dict[str, Any] | None = None) -> list[ReadableSpan]:
    """The spans `build(tracer)` makes, finished, in the order they ended."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource(resource or {"service.name": "test-app"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    build(provider.get_tracer("test"))
    provider.shutdown()
    return list(exporter.get_finished_spans())


def otlp_request(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    """What the OTLP exporter sends for these spans."""
    return encode_spans(spans)


def _hex_ids(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


def otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The request in OTLP/JSON: lowerCamelCase keys, hex ids, enums as integers, 64-bit
    integers as strings."""
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    _hex_ids(document)
    return document


class MemoryReceiver:
    def __init__(self, receiver: OtlpReceiver, exporter: MemoryExporter) -> None:
        self.receiver, self.exporter = receiver, exporter

    @property
    def url(self) -> str:
        return self.receiver.traces_url

    def records(self, kind: str) -> list[dict[str, Any]]:
        """The decoded events of `kind` sent so far (flushed first)."""
        assert self.receiver.forwarder.flush(10)
        return [record for _, record in self.exporter.records(kind)]

    def messages(self, kind: str) -> list[tuple[phospho.Message, dict[str, Any]]]:
        assert self.receiver.forwarder.flush(10)
        return self.exporter.records(kind)


@contextmanager
def memory_receiver(spool_dir: Path, max_body_bytes: int = 4 << 20, memory_bytes: int = 8 << 20,
                    token: str | None = None) -> Iterator[MemoryReceiver]:
    """A receiver on a free loopback port, its Forwarder on a MemoryExporter."""
    exporters: list[MemoryExporter] = []

    def factory(settings: Any, stats: Any) -> MemoryExporter:
        exporters.append(MemoryExporter(settings, stats))
        return exporters[-1]

    forwarder = phospho.Forwarder("otlp-test", spool_dir=spool_dir, exporter=factory)
    receiver = OtlpReceiver(forwarder, "127.0.0.1", 0, max_body_bytes, memory_bytes, token).start()
    try:
        yield MemoryReceiver(receiver, exporters[0])
    finally:
        receiver.stop(5)
