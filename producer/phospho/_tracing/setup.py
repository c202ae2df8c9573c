"""`init(tracing=True)`: OpenTelemetry (the official SDK) wired to the SDK's runtime.

If the application already configured a TracerProvider, phospho adds its span processor to it
(the app's exporters keep working); otherwise it sets up one, and an app that sets its own
afterwards is told once that OpenTelemetry kept phospho's (see provider_watch). Then it enables
every installed LLM / vector store instrumentation and says which (`announce`). After
`init(tracing=False)` the processor exports nothing (the instrumentations stay: see
instrumentations).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from .._core.errors import ConfigurationError
from .links import SpanLinks

__all__ = ["announce", "enable"]

logger = logging.getLogger("phospho")
#: once per process: OpenTelemetry keeps the processor for the provider's life
_STATE: dict[str, Any] = {"processor": None, "provider": None, "links": None}


def _provider() -> Any:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    current = trace.get_tracer_provider()
    if hasattr(current, "add_span_processor"):
        return current  # the app's own: add to it, never replace it
    ours = TracerProvider(resource=Resource.create({"service.name": "phospho-app"}))
    trace.set_tracer_provider(ours)
    provider = trace.get_tracer_provider()  # ours, or the one another thread set first
    if provider is ours:
        from .provider_watch import watch

        watch()
    return provider


def enable(host: Any) -> tuple[SpanLinks, list[str]]:
    """Set up the span processor for `host` (the runtime; once per process) and the
    instrumentations; returns the process's span links and the names of the enabled
    instrumentations. Raises ConfigurationError without OpenTelemetry."""
    try:
        from .processor import PhosphoSpanProcessor, span_event
    except ImportError as exc:
        raise ConfigurationError(f"tracing=True needs the OpenTelemetry SDK ({exc}); pip install opentelemetry-sdk") from exc
    if _STATE["processor"] is None:
        provider = _provider()
        if not hasattr(provider, "add_span_processor"):
            raise ConfigurationError(f"tracing=True: the TracerProvider {type(provider).__name__} takes no span processor")
        links = SpanLinks(lambda span, link: host.enqueue(span_event(span, link)))
        processor = PhosphoSpanProcessor(host, links)
        provider.add_span_processor(processor)
        _STATE.update(processor=processor, provider=provider, links=links)
    from .instrumentations import instrument

    return _STATE["links"], instrument(_STATE["provider"])


def _configured() -> bool:
    """Whether the app set up logging for the `phospho` logger: a level or a handler of its own,
    or handlers above it that show INFO."""
    return (logger.level != logging.NOTSET or bool(logger.handlers)
            or (logger.hasHandlers() and logger.isEnabledFor(logging.INFO)))


def announce(enabled: list[str]) -> None:
    """Say which instrumentations init(tracing=True) enabled: one INFO record on the `phospho`
    logger when the app configured logging for it, else one line on stderr. None at all is a
    warning."""
    if not enabled:
        logger.warning("phospho: tracing enabled, but no OpenTelemetry instrumentation for an LLM provider or vector "
                       "store is installed (e.g. pip install opentelemetry-instrumentation-openai)")
        return
    line = f"phospho: tracing enabled; instrumented: {', '.join(enabled)}"
    if _configured():
        logger.info(line)
        return
    try:
        print(line, file=sys.stderr, flush=True)
    except Exception:  # no usable stderr (e.g. pythonw): nothing to say it on
        pass
