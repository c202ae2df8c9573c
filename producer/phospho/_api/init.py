"""`phospho.init` and the lazy init used when the app logs before calling it. Holds the one
Runtime of the process and wires it: exporter, processor, hooks and tracing."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from typing import Any

from .._core.convert import safe_text
from .._core.errors import ConfigurationError
from .._core.settings import Settings, resolve_settings
from .._core.versions import SDK_VERSION
from .._export.exporter import Exporter, ExporterFactory
from .._export.processor import BatchProcessor
from . import streaming
from .redact import resolve_redaction
from .runtime import Hooks, Runtime

__all__ = ["RUNTIME", "init", "init_from_environment", "make_processor"]

logger = logging.getLogger("phospho")

#: the process's one Runtime: only the entry points (phospho, log, wrap, feedback, trace) read it
RUNTIME = Runtime()
_lazy_failed = False


def init(
    api_key: str | None = None,
    project_id: str | None = None,
    auto_log: bool = False,
    tracing: bool = False,
    base_url: str | None = None,
    tick: float | None = None,
    raise_error_on_fail_to_send: bool = False,
    version_id: str | None = None,
    *,
    bootstrap_servers: str | None = None,
    schema_registry_url: str | None = None,
    topic_prefix: str | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    kafka_config: Mapping[str, Any] | None = None,
    max_queue_size: int | None = None,
    exit_timeout: float | None = None,
    max_field_chars: int | None = None,
    max_event_bytes: int | None = None,
    spool_max_bytes: int | None = None,
    trace_link_timeout: float | None = None,
    exporter: ExporterFactory | None = None,
    redact: Any = None,
) -> None:
    """Configure the SDK and start its background sender. Raises ConfigurationError (a
    ValueError) for a missing project id or an invalid setting; nothing else ever raises.

    phospho's arguments keep their meaning where they have one here: `tick` is the sender's
    wake-up interval; `base_url` (an HTTP API) and `raise_error_on_fail_to_send` (the SDK never
    raises into the app) are accepted and ignored; `auto_log` is not supported (use
    phospho.wrap or tracing) and says so. `exporter` replaces Kafka as the transport: a factory
    called as `exporter(settings, stats)` that returns a `phospho.Exporter`. `redact` masks
    personal data before anything leaves the process: True (every built-in detector), a list of
    rules, or a `phospho.redaction.Redactor` (default: $PHOSPHO_REDACT, `all` or detector names);
    the sender thread redacts, so `log` costs the app no more.
    """
    settings = resolve_settings(
        project_id=project_id, api_key=api_key, bootstrap_servers=bootstrap_servers,
        schema_registry_url=schema_registry_url, topic_prefix=topic_prefix, spool_dir=spool_dir,
        version_id=version_id, max_queue_size=max_queue_size, flush_interval=tick,
        exit_timeout=exit_timeout, max_field_chars=max_field_chars, max_event_bytes=max_event_bytes,
        spool_max_bytes=spool_max_bytes, trace_link_timeout=trace_link_timeout, kafka_config=kafka_config,
    )
    if exporter is not None and not callable(exporter):
        raise ConfigurationError(f"exporter must be a factory called as exporter(settings, stats), got {type(exporter).__name__}")
    redactor = resolve_redaction(redact)  # a bad rule: ConfigurationError, before anything starts
    if auto_log:
        logger.warning("phospho.init(auto_log=True) is not supported; use phospho.wrap or init(tracing=True)")
    if base_url is not None:
        logger.info("phospho.init(base_url=...) is ignored: events go to Kafka at %s", settings.bootstrap_servers)
    runtime = RUNTIME
    enabled: list[str] = []
    if tracing:
        from .._tracing.setup import enable

        runtime.links, enabled = enable(runtime)  # may raise ConfigurationError (no OpenTelemetry)
    hooks = _hooks(runtime, settings)
    make = functools.partial(make_processor, runtime, settings, exporter, hooks, redactor)
    runtime.start(settings, make, hooks, tracing)
    runtime.instrumentations = tuple(enabled)
    if tracing:
        from .._tracing.setup import announce

        announce(enabled)


def _hooks(runtime: Runtime, settings: Settings) -> Hooks:
    """Streams the app left open, and (once tracing was enabled) the sweep of spans waiting
    for a log."""
    tick = [functools.partial(streaming.send_dropped_streams, runtime)]
    flush = [functools.partial(streaming.collect_dropped_streams, runtime)]
    exit = [functools.partial(streaming.send_all_streams, runtime)]
    if runtime.links is not None:
        from .._tracing.sweep import Sweeper

        sweeper = Sweeper(runtime.links, settings)
        tick.append(sweeper.tick)
        exit.append(sweeper.final)
    return Hooks(tuple(tick), tuple(flush), tuple(exit))


def make_processor(runtime: Runtime, settings: Settings, factory: ExporterFactory | None, hooks: Hooks,
                   redactor: Any = None) -> BatchProcessor:
    """The processor (and its exporter: Kafka's unless `factory`) of this init; called again in
    a forked child. Avro and Kafka are imported here, not with `import phospho`."""
    from .._export.encoder import EventEncoder
    from .._export.kafka import make_serializers

    if factory is None:
        from .._export.kafka_exporter import KafkaExporter as factory
    encoder = EventEncoder(settings, make_serializers(settings), runtime.stats, SDK_VERSION,
                           redactor.redact if redactor is not None else None)
    try:
        exporter = factory(settings, runtime.stats)
    except ConfigurationError:
        raise
    except Exception as exc:  # the app's factory: said as a configuration error, as init promises
        raise ConfigurationError(f"the exporter factory raised {type(exc).__name__}: {safe_text(exc)}") from exc
    if not isinstance(exporter, Exporter):
        raise ConfigurationError(f"the exporter factory returned a {type(exporter).__name__}, which is not a "
                                 "phospho.Exporter (export, send_now, tick, flush, shutdown, in_flight, spooling, backlog_bytes)")
    return BatchProcessor(runtime.queue, runtime.stats, encoder.encode, exporter, hooks.tick, settings.flush_interval)


def init_from_environment() -> None:
    """Called by log/user_feedback before init: init from the environment, or warn once."""
    global _lazy_failed
    if RUNTIME.initialized or _lazy_failed:
        return
    try:
        init()
        logger.info("phospho: initialised from the environment (phospho.init() was not called)")
    except ConfigurationError as exc:
        _lazy_failed = True
        logger.warning("phospho: logging before phospho.init(), and the environment is not enough (%s); "
                       "events wait in memory for phospho.init()", exc)
