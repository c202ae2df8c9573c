#!/usr/bin/env python3
"""The OTLP receiver: what a span costs it, and how fast exports go through it to Kafka.

    .venv/bin/python benchmarks/otlp_receiver.py            # full run, rewrites its BENCHMARKS.md section
    .venv/bin/python benchmarks/otlp_receiver.py --quick    # smoke run (BENCHMARKS.md untouched)

Traffic: traces of 4 spans as a RAG chat app makes them (an HTTP server span, a retrieval, a tool
call, a chat call with its messages, ~1.5 KB of attributes), made by the OpenTelemetry SDK and
encoded by the OTLP exporter's own encoder, in batches of 512 spans (the batch processor's
default), as binary protobuf and as OTLP/JSON, gzip-compressed.

1. The receiver's own work per span, in process: decode, rebuild the spans, choose each trace's
   task (parse_request + received_spans + TraceMemory.update), without HTTP or Kafka.
2. Through the real path: one HTTP client posting the batches one after another to a receiver
   (the same code `up` and `phospho-stream otlp` run) that produces to the embedded broker; the
   latency of a request (answered once its events are queued) and the spans per second until
   the last event is acknowledged by the broker.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import json
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from _markdown import rewrite_section  # benchmarks/ is on sys.path when a script runs
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from phospho_schemas import Topics
from phospho_stream import EmbeddedBroker
from phospho_stream.otlp import start_receiver
from phospho_stream.otlp.decode import JSON, PROTOBUF, parse_request
from phospho_stream.otlp.spans import received_spans
from phospho_stream.otlp.traces import TraceMemory

HERE = Path(__file__).resolve().parent
BENCHMARKS_MD = HERE.parent / "BENCHMARKS.md"
START, END = "<!-- otlp_receiver:start -->", "<!-- otlp_receiver:end -->"
BATCH = 512
QUESTION = "I ordered a pair of trail shoes last Monday (order 4411-XQ) and the tracking page has said 'label created' ever since. "
ANSWER = "Order 4411-XQ left our warehouse on Tuesday; the carrier scans it at the hub tonight and it arrives on Friday. "


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_batches(count: int) -> list[list[Any]]:
    """`count` batches of BATCH spans: traces of 4 spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "support-bot", "service.version": "2.4.1"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    for i in range(count * BATCH // 4):
        with tracer.start_as_current_span("POST /chat", attributes={"http.route": "/chat", "session.id": f"s-{i // 5}",
                                                                    "user.id": f"u-{i % 97}"}):
            with tracer.start_as_current_span("retrieve", attributes={"db.system": "qdrant", "k": 8}):
                pass
            with tracer.start_as_current_span("execute_tool track_order", attributes={
                    "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "track_order"}):
                pass
            with tracer.start_as_current_span("chat gpt-4o-mini", attributes={
                    "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.input_tokens": 1544,
                    "gen_ai.usage.output_tokens": 27, "gen_ai.usage.cache_read.input_tokens": 1280,
                    "gen_ai.input.messages": json.dumps([
                        {"role": "system", "parts": [{"type": "text", "content": "You are a support agent."}]},
                        {"role": "user", "parts": [{"type": "text", "content": f"{QUESTION} ({i})"}]}]),
                    "gen_ai.output.messages": json.dumps([
                        {"role": "assistant", "parts": [{"type": "text", "content": ANSWER}], "finish_reason": "stop"}])}):
                pass
    provider.shutdown()
    spans = list(exporter.get_finished_spans())
    return [spans[i:i + BATCH] for i in range(0, len(spans), BATCH)]


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


def bodies(batches: list[list[Any]], encoding: str) -> list[bytes]:
    out = []
    for batch in batches:
        request = encode_spans(batch)
        if encoding == PROTOBUF:
            out.append(request.SerializeToString())
        else:
            document = json_format.MessageToDict(request, use_integers_for_enums=True)
            _hex_ids(document)
            out.append(json.dumps(document).encode())
    return out


def in_process(raw: list[bytes], encoding: str, rounds: int) -> dict[str, float]:
    """Microseconds per span of the receiver's own work (best of `rounds` passes)."""
    best = float("inf")
    for _ in range(rounds):
        memory = TraceMemory(64 << 20)
        start = time.perf_counter()
        for body in raw:
            by_trace: dict[str, list[Any]] = defaultdict(list)
            for span in received_spans(parse_request(body, encoding)).spans:
                by_trace[span.trace_id].append(span)
            for trace_id, spans in by_trace.items():
                memory.update(trace_id, spans)
        best = min(best, time.perf_counter() - start)
    return {"us_per_span": best / (len(raw) * BATCH) * 1e6}


def through_kafka(bootstrap: str, raw: list[bytes], encoding: str, workdir: Path) -> dict[str, float]:
    prefix = f"bench{encoding[-4:]}."
    receiver = start_receiver("bench-otlp", bootstrap, prefix, workdir / f"spool-{encoding[-4:]}", "127.0.0.1", 0,
                              8 << 20, 64 << 20)
    compressed = [gzip.compress(body, 6) for body in raw]
    latencies = []
    try:
        with httpx.Client(trust_env=False, timeout=60) as client:
            start = time.perf_counter()
            for body in compressed:
                sent = time.perf_counter()
                response = client.post(receiver.traces_url, content=body,
                                       headers={"Content-Type": encoding, "Content-Encoding": "gzip"})
                latencies.append(time.perf_counter() - sent)
                response.raise_for_status()
            answered = time.perf_counter() - start
            assert receiver.forwarder.flush(300), receiver.forwarder.stats()
            delivered = time.perf_counter() - start
        stats = receiver.forwarder.stats()
    finally:
        receiver.stop(30)
    spans = len(raw) * BATCH
    latencies.sort()
    return {"request_ms_p50": statistics.median(latencies) * 1000,
            "request_ms_p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            "answered_spans_per_s": spans / answered, "delivered_spans_per_s": spans / delivered,
            "events": stats["delivered"], "gzip_kb_per_batch": statistics.mean(len(b) for b in compressed) / 1024,
            "kb_per_batch": statistics.mean(len(b) for b in raw) / 1024}


def render(results: dict[str, dict[str, Any]], batches: int) -> str:
    today = dt.date.today().isoformat()
    lines = [START, "## OTLP receiver (`benchmarks/otlp_receiver.py`)", "",
             f"{today}, Python {platform.python_version()}, {platform.machine()}, a 2-core machine shared with other "
             f"work. {batches} batches of {BATCH} spans (traces of 4 spans: an HTTP span, a retrieval, a tool call, a "
             "chat call with its messages), sent one after another by one client, gzip; the receiver produces to the "
             "embedded broker (Tansu).", "",
             "| encoding | body per batch (gzip) | receiver's work per span | request p50 / p99 | spans/s answered | "
             "spans/s in Kafka |", "|---|---|---|---|---|---|"]
    for encoding, r in results.items():
        lines.append(f"| {encoding} | {r['kb_per_batch']:.0f} KB ({r['gzip_kb_per_batch']:.0f} KB) | "
                     f"{r['us_per_span']:.1f} µs | {r['request_ms_p50']:.0f} / {r['request_ms_p99']:.0f} ms | "
                     f"{r['answered_spans_per_s']:,.0f} | {r['delivered_spans_per_s']:,.0f} |")
    lines += ["", "The receiver's work: decode, rebuild each span, choose each trace's task, in process. A request is "
              "answered once its events are queued; spans/s in Kafka counts until the broker acknowledged the last "
              "event (task events included: one per trace). The SDK's sender thread (records, Avro) shares the "
              "process with the HTTP server.", END, ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 batches, BENCHMARKS.md left alone")
    args = parser.parse_args()
    count = 4 if args.quick else 40
    progress(f"making {count} batches of {BATCH} spans")
    batches = make_batches(count)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="phospho-bench-otlp-") as tmp, EmbeddedBroker() as broker:
        for encoding, name in ((PROTOBUF, "protobuf"), (JSON, "JSON")):
            raw = bodies(batches, encoding)
            broker.create_topics(Topics(f"bench{encoding[-4:]}.").all())
            progress(f"{name}: in process")
            results[name] = in_process(raw, encoding, 1 if args.quick else 3)
            progress(f"{name}: through HTTP to Kafka")
            results[name].update(through_kafka(broker.bootstrap, raw, encoding, Path(tmp)))
    section = render(results, count)
    print(section)
    if not args.quick:
        rewrite_section(BENCHMARKS_MD, START, END, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
