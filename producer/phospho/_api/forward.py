"""`phospho.Forwarder`: events made elsewhere (spans received over OTLP, tasks built from them)
sent through the SDK's own export pipeline: the same Avro events, Kafka exporter and spool.

A Forwarder is independent of `phospho.init`: it has its own settings (project id included),
queue, counters and sender thread, so a process may forward for one project while the app's
own `phospho.log` calls go to another. Like `log`, its methods queue and return at once; they
never raise (except the constructor's ConfigurationError) and never block.
Unlike `log`, a task sent twice with the same task_id is not merged: each call is one event,
and the pipeline keeps the newest (by sent_at). An `event_id` given makes a resend idempotent
downstream (the same event is counted once).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping
from typing import Any

from .._core.queue import Event, Link
from .._core.settings import resolve_settings
from .._export.exporter import ExporterFactory
from .init import make_processor
from .runtime import Hooks, Runtime

__all__ = ["Forwarder"]


class Forwarder:
    """`Forwarder(project_id, bootstrap_servers=..., spool_dir=...)`: every setting as in
    `phospho.init` (argument > PHOSPHO_* environment variable > default). Raises
    ConfigurationError for a setting it cannot use."""

    def __init__(
        self,
        project_id: str,
        *,
        bootstrap_servers: str | None = None,
        schema_registry_url: str | None = None,
        topic_prefix: str | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
        kafka_config: Mapping[str, Any] | None = None,
        max_queue_size: int | None = None,
        max_field_chars: int | None = None,
        max_event_bytes: int | None = None,
        spool_max_bytes: int | None = None,
        exit_timeout: float | None = None,
        exporter: ExporterFactory | None = None,
    ) -> None:
        settings = resolve_settings(
            project_id=project_id, bootstrap_servers=bootstrap_servers, schema_registry_url=schema_registry_url,
            topic_prefix=topic_prefix, spool_dir=spool_dir, kafka_config=kafka_config, max_queue_size=max_queue_size,
            max_field_chars=max_field_chars, max_event_bytes=max_event_bytes, spool_max_bytes=spool_max_bytes,
            exit_timeout=exit_timeout,
        )
        self.settings = settings
        self._runtime = runtime = Runtime()
        hooks = Hooks()
        runtime.start(settings, functools.partial(make_processor, runtime, settings, exporter, hooks), hooks, False)

    def task(self, fields: Mapping[str, Any], created_at_ms: int, event_id: str | None = None) -> None:
        """Send one task event. `fields` are phospho.log's keys: `task_id` and `input` (text),
        and any of output, session_id, user_id, version_id, model, system_prompt, prompt_tokens,
        completion_tokens, total_tokens, cached_tokens, raw_input, raw_output, metadata (a dict).
        Without a session_id, the session is `session_<task_id>`, marked generated (the pipeline
        then groups the user's tasks)."""
        content = dict(fields)
        generated = content.get("session_id") is None
        if generated:
            content["session_id"] = f"session_{content['task_id']}"
        now_ms = int(time.time() * 1000)
        event = Event(str(content["task_id"]), content, True, "task", now_ms, generated)
        event.event_ms = created_at_ms
        event.event_id = event_id
        self._runtime.enqueue(event)

    def span(self, span: Any, task_id: str | None, session_id: str | None = None, user_id: str | None = None,
             link_method: str | None = None, event_id: str | None = None) -> None:
        """Send one finished span (an `opentelemetry.sdk.trace.ReadableSpan`) as the span event
        of task `task_id` (None: a span without a task, keyed by its trace id), recorded as the
        SDK records the spans it traces."""
        link = Link(task_id, session_id, user_id, link_method if task_id is not None else None)
        payload = {"span": span, "link": link, "event_id": event_id}
        self._runtime.enqueue(Event("", payload, True, "span", 0))

    def flush(self, timeout: float = 10.0) -> bool:
        """True once everything sent so far is delivered to Kafka, within `timeout` seconds."""
        return self._runtime.flush(timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush within `timeout` (default: exit_timeout), spool the rest, stop the sender."""
        return self._runtime.shutdown(timeout)

    def stats(self) -> dict[str, Any]:
        """Where its events went, as `phospho.stats()` says it for the app's."""
        return self._runtime.snapshot()
