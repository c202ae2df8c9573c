"""The OpenTelemetry SpanProcessor that hands finished spans to phospho's queue.

It does the least possible in the app's thread: on start it notes the span's tracer block (or
its execution context, see `links`); on end it queues the span object itself. The record
(GenAI fields, flattened attributes) and the Avro encoding are built by the sender thread, and
spans travel the same queue, exporter and spool as tasks: never blocking, never lost.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from .._core.queue import Event, Link
from . import context
from .links import SpanLinks

__all__ = ["PhosphoSpanProcessor", "SpanHost", "span_event"]

logger = logging.getLogger("phospho")
_SPAN = "span"


class SpanHost(Protocol):
    """What the span processor needs of the SDK's runtime."""

    tracing: bool

    def enqueue(self, event: Event) -> None: ...

    def flush(self, timeout: float) -> bool: ...


def span_event(span: Any, link: Link) -> Event:
    """The queued event of a finished span and its link."""
    return Event("", {"span": span, "link": link}, True, _SPAN, 0)


class PhosphoSpanProcessor(SpanProcessor):
    """Added to the application's TracerProvider (or to the one phospho sets up)."""

    def __init__(self, host: SpanHost, links: SpanLinks) -> None:
        self._host = host
        self._links = links
        self._reported = False

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        if not self._host.tracing:
            return
        try:
            ctx = context.current()
            parent = span.parent
            self._links.span_started(span.context.span_id, None if parent is None else parent.span_id,
                                     None if ctx is None else ctx.link)
        except Exception:
            self._report()

    def on_end(self, span: ReadableSpan) -> None:
        if not self._host.tracing and not self._links.is_open(span.context.span_id):
            return  # tracing is off (init(tracing=False) after tracing=True)
        try:
            self._links.span_ended(span)
        except Exception:
            self._report()

    def shutdown(self) -> None:
        """phospho flushes and spools at exit by itself."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._host.flush(timeout_millis / 1000)

    def _report(self) -> None:
        if not self._reported:
            self._reported = True
            logger.exception("phospho: could not follow a span (reported once); the app is not affected")
