"""`init(tracing=True)`: OpenTelemetry (the official SDK) wired to phospho's sender.

If the application already configured a TracerProvider, phospho adds its span processor to it
(the app's exporters keep working); otherwise it sets up one. Then it enables every installed
LLM / vector store instrumentation and says which. After `init(tracing=False)` the processor
exports nothing (the instrumentations stay: see _instrumentations).
"""

from __future__ import annotations

import logging
from typing import Any

from ._errors import ConfigurationError

__all__ = ["enable"]

logger = logging.getLogger("phospho")
_STATE: dict[str, Any] = {"processor": None, "provider": None}


def _provider() -> Any:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    current = trace.get_tracer_provider()
    if hasattr(current, "add_span_processor"):
        return current  # the app's own: add to it, never replace it
    trace.set_tracer_provider(TracerProvider(resource=Resource.create({"service.name": "phospho-app"})))
    return trace.get_tracer_provider()  # ours, or the one another thread set first


def enable() -> list[str]:
    """Set up the span processor (once per process) and the instrumentations; returns the
    names of the enabled instrumentations. Raises ConfigurationError without OpenTelemetry."""
    try:
        from ._span_links import set_emitter
        from ._span_processor import PhosphoSpanProcessor, emit_span
    except ImportError as exc:
        raise ConfigurationError(f"tracing=True needs the OpenTelemetry SDK ({exc}); pip install opentelemetry-sdk") from exc
    set_emitter(emit_span)
    if _STATE["processor"] is None:
        provider = _provider()
        if not hasattr(provider, "add_span_processor"):
            raise ConfigurationError(f"tracing=True: the TracerProvider {type(provider).__name__} takes no span processor")
        processor = PhosphoSpanProcessor()
        provider.add_span_processor(processor)
        _STATE.update(processor=processor, provider=provider)
    from ._instrumentations import instrument

    enabled = instrument(_STATE["provider"])
    if enabled:
        logger.info("phospho: tracing LLM calls with the OpenTelemetry instrumentations: %s", ", ".join(enabled))
    else:
        logger.warning("phospho: tracing is on but no OpenTelemetry instrumentation for an LLM provider or vector "
                       "store is installed (e.g. pip install opentelemetry-instrumentation-openai)")
    return enabled
