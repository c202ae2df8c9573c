"""The OpenTelemetry SpanProcessor that hands finished spans to phospho's sender.

It does the least possible in the app's thread: on start it notes the span's tracer block (or
its execution context, see `_span_links`); on end it queues the span object itself. The record
(GenAI fields, flattened attributes) and the Avro encoding are built by the sender thread, and
spans travel the same queue, producer and spool as tasks: never blocking, never lost.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from . import _context, _span_links
from ._log_queue import Event
from ._runtime import RUNTIME
from ._span_links import Link, span_ended, span_started

__all__ = ["PhosphoSpanProcessor", "emit_span"]

logger = logging.getLogger("phospho")
_SPAN = "span"


def emit_span(span: Any, link: Link) -> None:
    """Queue a finished span with its link (from any thread)."""
    RUNTIME.enqueue(Event("", {"span": span, "link": link}, True, _SPAN, 0))


class PhosphoSpanProcessor(SpanProcessor):
    """Added to the application's TracerProvider (or to the one phospho sets up)."""

    def __init__(self) -> None:
        self._reported = False

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        if not RUNTIME.tracing:
            return
        try:
            ctx = _context.current()
            parent = span.parent
            span_started(span.context.span_id, None if parent is None else parent.span_id,
                         None if ctx is None else ctx.link)
        except Exception:
            self._report()

    def on_end(self, span: ReadableSpan) -> None:
        if not RUNTIME.tracing and span.context.span_id not in _span_links._marks:
            return  # tracing is off (init(tracing=False) after tracing=True)
        try:
            span_ended(span)
        except Exception:
            self._report()

    def shutdown(self) -> None:
        """phospho flushes and spools at exit by itself."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return RUNTIME.flush(timeout_millis / 1000)

    def _report(self) -> None:
        if not self._reported:
            self._reported = True
            logger.exception("phospho: could not follow a span (reported once); the app is not affected")
