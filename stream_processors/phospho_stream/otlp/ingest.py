"""A received request's way to Kafka: decode, keep the usable spans, make each trace's task, and
hand tasks and spans to the SDK's export pipeline (phospho.Forwarder) with ids that make a
resent request harmless (the same span is the same event; the same task version too)."""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from phospho import Forwarder

from .decode import parse_request
from .spans import Received, ReceivedSpan, received_spans
from .traces import TraceMemory, TraceUpdate

__all__ = ["Ingest", "IngestStats", "LINK_METHOD"]

#: the span events' link_method
LINK_METHOD = "otlp"


def event_id(*parts: str | None) -> str:
    """32 hex digits determined by `parts` (the idempotency key of a resent event)."""
    text = "\x1f".join("" if part is None else part for part in parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass
class IngestStats:
    requests: int = 0
    spans: int = 0
    rejected_spans: int = 0
    tasks: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, spans: int, rejected: int, tasks: int) -> None:
        with self._lock:
            self.requests += 1
            self.spans += spans
            self.rejected_spans += rejected
            self.tasks += tasks


class Ingest:
    """`ingest(body, encoding) -> Received` (OtlpRequestError 400 for a malformed body)."""

    def __init__(self, forwarder: Forwarder, memory: TraceMemory) -> None:
        self.forwarder = forwarder
        self.memory = memory
        self.project_id = forwarder.settings.project_id
        self.stats = IngestStats()

    def __call__(self, body: bytes, encoding: str) -> Received:
        received = received_spans(parse_request(body, encoding))
        by_trace: dict[str, list[ReceivedSpan]] = defaultdict(list)
        for span in received.spans:
            by_trace[span.trace_id].append(span)
        tasks = 0
        for trace_id, spans in by_trace.items():
            update = self.memory.update(trace_id, spans)
            tasks += update.task is not None
            self._send(update)
        self.stats.add(len(received.spans), received.rejected, tasks)
        return received

    def _send(self, update: TraceUpdate) -> None:
        forward, project = self.forwarder, self.project_id
        if update.task is not None:
            forward.task(update.task, update.created_at_ms,
                         event_id(project, "task", update.task_id, update.speaker, update.session_id, update.user_id))
        for span in update.spans:
            forward.span(span.readable, update.task_id, update.session_id, update.user_id, LINK_METHOD,
                         event_id(project, "span", span.trace_id, span.span_id))
