"""`phospho.init` and the lazy init used when the app logs before calling it."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from . import _tracing
from ._errors import ConfigurationError
from ._runtime import RUNTIME
from ._settings import resolve_settings

__all__ = ["init", "init_from_environment"]

logger = logging.getLogger("phospho")
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
) -> None:
    """Configure the SDK and start its background sender. Raises ConfigurationError (a
    ValueError) for a missing project id or an invalid setting; nothing else ever raises.

    phospho's arguments keep their meaning where they have one here: `tick` is the sender's
    wake-up interval; `base_url` (an HTTP API) and `raise_error_on_fail_to_send` (the SDK never
    raises into the app) are accepted and ignored; `auto_log` is not supported (use
    phospho.wrap or tracing) and says so.
    """
    from . import __version__

    settings = resolve_settings(
        project_id=project_id, api_key=api_key, bootstrap_servers=bootstrap_servers,
        schema_registry_url=schema_registry_url, topic_prefix=topic_prefix, spool_dir=spool_dir,
        version_id=version_id, max_queue_size=max_queue_size, flush_interval=tick,
        exit_timeout=exit_timeout, max_field_chars=max_field_chars, max_event_bytes=max_event_bytes,
        spool_max_bytes=spool_max_bytes, trace_link_timeout=trace_link_timeout, kafka_config=kafka_config,
    )
    if auto_log:
        logger.warning("phospho.init(auto_log=True) is not supported; use phospho.wrap or init(tracing=True)")
    if base_url is not None:
        logger.info("phospho.init(base_url=...) is ignored: events go to Kafka at %s", settings.bootstrap_servers)
    enabled = _tracing.enable() if tracing else []  # may raise ConfigurationError (no OpenTelemetry)
    RUNTIME.start(settings, tracing=tracing, sdk_version=__version__)
    RUNTIME.instrumentations = tuple(enabled)
    if tracing:
        _tracing.announce(enabled)


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
