"""`phospho-stream otlp`: the OTLP/HTTP receiver alone (deployments), producing to the Kafka of
PHOSPHO_KAFKA_BOOTSTRAP_SERVERS until SIGINT or SIGTERM, then sending what it holds."""

from __future__ import annotations

import signal
import sys
import threading

from ..settings import OtlpSettings
from .server import OtlpError, start_receiver

__all__ = ["run_otlp"]


def _kafka_answers(bootstrap: str) -> bool:
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": bootstrap, "log_level": 0}).list_topics(timeout=5)
    except Exception:  # noqa: BLE001 - any failure to reach it is the same news
        return False
    return True


def run_otlp(settings: OtlpSettings) -> int:
    """Serve until stopped: 0 on a clean stop, 2 when the receiver cannot start (one line on stderr)."""
    host, port = settings.otlp_host, settings.otlp_port
    spool = settings.otlp_spool_path(settings.data_path())
    try:
        receiver = start_receiver(settings.otlp_project_id, settings.bootstrap, settings.topic_prefix, spool, host, port,
                                  settings.otlp_max_body_bytes, settings.otlp_memory_bytes, settings.otlp_token,
                                  settings.schema_registry_url)
    except OtlpError as exc:
        print(f"phospho-stream otlp: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"phospho-stream otlp: cannot listen on {host}:{port} ({exc.strerror or exc}): stop what uses it or "
              "choose another with --port", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(receiver.traces_url, flush=True)
    print(f"# OTLP/HTTP traces -> Kafka at {settings.bootstrap} (project {settings.otlp_project_id}); exporters send "
          f"with OTEL_EXPORTER_OTLP_ENDPOINT={receiver.endpoint}", file=sys.stderr, flush=True)
    if not _kafka_answers(settings.bootstrap):
        print(f"# Kafka at {settings.bootstrap} does not answer (PHOSPHO_KAFKA_BOOTSTRAP_SERVERS): what is received "
              f"waits in {spool} until it does", file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        delivered = receiver.stop()
    counts = receiver.ingest.stats
    print(f"phospho-stream otlp: {counts.requests:,} requests, {counts.spans:,} spans ({counts.rejected_spans:,} "
          f"rejected), {counts.tasks:,} task events", file=sys.stderr)
    if not delivered:
        print(f"phospho-stream otlp: Kafka did not take everything; the rest is in {spool} and is sent at the next "
              "start", file=sys.stderr)
    return 0
