"""Tell the app, once, when it sets its own TracerProvider after `phospho.init(tracing=True)`.

phospho then already set OpenTelemetry's global TracerProvider, and OpenTelemetry refuses to
replace it: the app's provider is dropped (OpenTelemetry only logs "Overriding of current
TracerProvider is not allowed" on the `opentelemetry.trace` logger) and its processors and
exporters receive no span. A filter on that logger sees this record (it is let through
unchanged) and phospho says what to do instead.
"""

from __future__ import annotations

import logging

__all__ = ["MESSAGE", "watch"]

logger = logging.getLogger("phospho")
_OTEL_MESSAGE = "Overriding of current TracerProvider is not allowed"
MESSAGE = ("phospho: the application's TracerProvider was not installed: phospho.init(tracing=True) had already set "
           "OpenTelemetry's global TracerProvider, which OpenTelemetry never replaces, so the new provider's span "
           "processors and exporters receive no spans. Configure your TracerProvider before "
           "phospho.init(tracing=True) (phospho then adds its span processor to yours), or add your processors to "
           "opentelemetry.trace.get_tracer_provider().")


class _OverrideRefused(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.warned = False

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if not self.warned and record.msg == _OTEL_MESSAGE:
                self.warned = True
                logger.warning(MESSAGE)
        except Exception:  # never raise into the app's logging
            pass
        return True


_FILTER = _OverrideRefused()


def watch() -> None:
    """Watch for refused TracerProvider overrides (idempotent)."""
    otel = logging.getLogger("opentelemetry.trace")
    if _FILTER not in otel.filters:
        otel.addFilter(_FILTER)
