"""`phospho-stream up`: the whole pipeline on one machine, and what survives its restarts.

In order: one `up` per data directory (a lock), the embedded broker on --kafka-port unless a
Kafka is configured (its topics restored from the last clean stop; the pipeline's topics created
with the config's `privacy.retention.raw_text_days` as retention.ms), the store's migrations and the
config's retention TTLs, the sink (a thread), the read app (dashboard and query endpoint, up.json),
the OTLP/HTTP receiver on --otlp-port (a thread), the stage workers (child processes, restarted when
they stop: core, analytics, and evaluation when the config has an `llm:` endpoint and work for it),
the topics runs (a thread, every PHOSPHO_TOPICS_EVERY_MINUTES), the status line. SIGTERM or Ctrl-C:
the receiver stops taking traces and sends what it holds, the stages catch up, stop and commit, the
sink writes, what the next start needs is saved, then the broker stops. Every startup failure is one
line saying what to do (exit 2).
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phospho_schemas import Topics
from phospho_sinks import SinkRunner, StoreError, apply_retention, connect, migrate

from ..clustering import TopicsSchedule, parse_since
from ..config import ProjectConfig, RetentionSettings
from ..engine.evaluation import off_reason, write_off_status
from ..engine.topics import ensure_pipeline_topics, kafka_answers
from ..errors import BrokerError, PhosphoStreamError
from ..otlp import OtlpError, OtlpReceiver, start_receiver
from ..read import find_running_up, limits_of, remove_up_file, serve, store_reader, write_up_file
from ..settings import ReadSettings, UpSettings, WorkerSettings, load_settings
from . import snapshot
from .broker import EmbeddedBroker
from .children import Children
from .process import port_in_use
from .status import StatusLine

__all__ = ["run_up", "UpError"]


class UpError(PhosphoStreamError):
    """`up` cannot start: the message says what to do."""


@dataclass
class Running:
    broker: EmbeddedBroker | None
    bootstrap: str
    store: Any
    sink: SinkRunner
    web: Any
    otlp: OtlpReceiver
    children: Children
    status: StatusLine
    sink_thread: threading.Thread
    sink_stop: threading.Event
    topics: TopicsSchedule | None


def _lock(data_dir: Path) -> Any:
    """Hold the data directory's lock for this process's life, or say who holds it."""
    handle = (data_dir / "up.lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        running = find_running_up(data_dir)
        where = f" (pid {running.pid}, dashboard {running.url})" if running else ""
        raise UpError(f"another up runs on {data_dir}{where}: stop it, or set PHOSPHO_DATA_DIR") from None
    return handle


def _kafka(settings: UpSettings, data_dir: Path, external: str | None,
           retention: RetentionSettings) -> tuple[EmbeddedBroker | None, str]:
    if external:
        if not kafka_answers(external, timeout=5):
            raise UpError(f"no Kafka answers at {external} (PHOSPHO_KAFKA_BOOTSTRAP_SERVERS): start it, or unset "
                          "the variable to use the embedded broker")
        drift = ensure_pipeline_topics(external, Topics(settings.topic_prefix), settings.topic_partitions,
                                       retention_ms=retention.topic_ms, error=UpError)
        if drift:
            print(f"phospho-stream up: warning: {drift}", file=sys.stderr)
        return None, external
    broker = EmbeddedBroker(host=settings.host, port=settings.kafka_port or None, topic_prefix=settings.topic_prefix,
                            partitions=settings.topic_partitions, log_path=data_dir / "tansu.log",
                            retention_ms=retention.topic_ms)
    try:
        bootstrap = broker.start()
    except BrokerError as exc:
        raise UpError(f"the embedded broker cannot start: {exc} (--kafka-port)") from None
    restored = snapshot.restore(bootstrap, data_dir, settings.topic_partitions)
    if restored:
        print(f"phospho-stream up: {restored:,} records restored from the last stop", file=sys.stderr)
    return broker, bootstrap


def _start(settings: UpSettings, config_path: Path | None, config: ProjectConfig, external: str | None,
           log_level: str) -> Running:
    data_dir = settings.data_path()
    for port, what, flag in ((settings.dashboard_port, "the dashboard", "--dashboard-port"),
                             (settings.otlp_port, "the OTLP receiver", "--otlp-port"),
                             (settings.kafka_port if not external else 0, "Kafka", "--kafka-port")):
        if port and port_in_use(settings.host, port):
            raise UpError(f"port {port} is in use, {what} cannot listen on {settings.host}:{port}: stop what uses it "
                          f"or choose another with {flag}")
    retention = config.privacy.retention
    broker, bootstrap = _kafka(settings, data_dir, external, retention)
    try:
        store = connect(os.environ.get("PHOSPHO_CLICKHOUSE_DSN") or f"chdb://{data_dir / 'chdb'}")
        migrate(store)
        apply_retention(store, retention.raw_text_days, retention.aggregates_days)
    except StoreError as exc:
        if broker is not None:
            broker.stop()
        raise UpError(f"the store cannot be opened: {exc} (PHOSPHO_CLICKHOUSE_DSN)") from None
    topics = Topics(settings.topic_prefix)
    sink = SinkRunner(bootstrap, store, topics)
    read_settings = ReadSettings.load(data_dir=data_dir)
    reader = store_reader(store, limits_of(read_settings))
    web = serve(reader, settings.host, settings.dashboard_port, public_url=read_settings.public_url)
    try:
        otlp = start_receiver(settings.otlp_project_id, bootstrap, settings.topic_prefix,
                              settings.otlp_spool_path(data_dir), settings.host, settings.otlp_port,
                              settings.otlp_max_body_bytes, settings.otlp_memory_bytes, settings.otlp_token,
                              settings.schema_registry_url)
    except (OtlpError, OSError) as exc:
        web.stop()
        store.close()
        if broker is not None:
            broker.stop()
        raise UpError(f"the OTLP receiver cannot start on {settings.host}:{settings.otlp_port}: {exc} "
                      "(--otlp-port)") from None
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PHOSPHO_DATA_DIR": str(data_dir),
           "PHOSPHO_TOPIC_PREFIX": settings.topic_prefix, "PHOSPHO_TOPIC_PARTITIONS": str(settings.topic_partitions),
           "PHOSPHO_ANALYSIS_YIELD_LAG": str(settings.analysis_yield_lag)}
    if broker is not None:  # Tansu's high watermark stops at its last batch's first record: exact lag figures
        env["PHOSPHO_WORKER_PRODUCER_BATCH_BYTES"] = "1"
    if config_path is not None:
        env["PHOSPHO_CONFIG"] = str(config_path)
    children = Children(data_dir, env, log_level)
    children.add("core")
    children.add("analytics", nice=settings.analysis_nice)
    app_id = env.get("PHOSPHO_APP_ID", "phospho-pipeline")
    groups = {"core": app_id, "analytics": f"{app_id}-analytics"}
    if (off := off_reason(config)) is None:  # an LLM endpoint and work for it: the evaluation stage runs
        children.add("evaluation", nice=settings.analysis_nice)
        groups["evaluation"] = f"{app_id}-evaluation"
    else:
        write_off_status(data_dir, off)
    topics_runs = None
    if settings.topics_every_minutes > 0:
        worker_settings = load_settings(WorkerSettings, bootstrap=bootstrap, topic_prefix=settings.topic_prefix,
                                        topic_partitions=settings.topic_partitions)
        topics_runs = TopicsSchedule(worker_settings, config, reader, settings.topics_every_minutes * 60,
                                     parse_since(settings.topics_since)).start()
    status = StatusLine(bootstrap, topics, groups, data_dir, lambda: {
        "rows_written": sink.stats.rows_written, "store_paused": sink.stats.paused,
        "restarts": sum(c.restarts for c in children.items)})
    sink_stop = threading.Event()
    sink_thread = threading.Thread(target=sink.run, args=(sink_stop,), name="phospho-sink", daemon=True)
    sink_thread.start()
    write_up_file(data_dir, {"pid": os.getpid(), "url": web.query_url, "dashboard": web.url, "token": web.token,
                             "dsn": store.dsn, "bootstrap": bootstrap, "data_dir": str(data_dir),
                             "groups": groups, "otlp": otlp.endpoint, "topic_prefix": settings.topic_prefix})
    return Running(broker, bootstrap, store, sink, web, otlp, children, status, sink_thread, sink_stop, topics_runs)


def _stop(running: Running, settings: UpSettings, data_dir: Path) -> None:
    """Let the stages catch up, stop them, write what the sink holds, keep what the next start
    needs, stop the broker."""
    remove_up_file(data_dir)  # first: `query` and `dashboard` stop coming here
    if not running.otlp.stop():  # then what the receiver took goes to Kafka, for the stages to catch up on
        print(f"phospho-stream up: the OTLP receiver's last events wait in {settings.otlp_spool_path(data_dir)}",
              file=sys.stderr)
    if running.topics is not None:
        running.topics.stop()
    status = running.status
    deadline = threading.Event()
    timer = threading.Timer(settings.drain_seconds, deadline.set)
    timer.start()
    while not deadline.is_set():
        try:
            facts = status.facts()
        except Exception:  # noqa: BLE001 - the broker is gone: nothing more to wait for
            break
        if not facts["core_lag"] and not facts.get("analytics_backlog") and not facts.get("evaluation_backlog"):
            break
        deadline.wait(0.5)
    timer.cancel()
    status.stop()
    running.children.stop()
    running.sink_stop.set()
    running.sink_thread.join(60)
    running.web.stop()
    if running.broker is not None:
        groups = [*status.groups.values(), "phospho-sink"]
        kept = snapshot.save(running.bootstrap, data_dir, groups)
        print(f"phospho-stream up: {kept:,} records kept for the next start", file=sys.stderr)
        running.broker.stop()
    running.store.close()


def run_up(settings: UpSettings, config_path: Path | None = None, demo: Any = None, log_level: str = "warn",
           config: ProjectConfig | None = None) -> int:
    """Run until SIGINT/SIGTERM (or until `demo(store, stop, bootstrap)` has run, when given); 0 on a clean
    stop, 2 when up could not start. `config`: the project config read from `config_path`."""
    data_dir = settings.data_path()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)  # it holds up.json, whose token opens the store
    external = os.environ.get("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        lock = _lock(data_dir)
        remove_up_file(data_dir)  # a killed up's: nobody serves it any more
        running = _start(settings, config_path, config or ProjectConfig(), external, log_level)
    except (UpError, OSError) as exc:
        print(f"phospho-stream up: {exc}", file=sys.stderr)
        return 2
    try:
        print(f"phospho-stream up: Kafka on {running.bootstrap}; apps send with\n"
              f"  export PHOSPHO_KAFKA_BOOTSTRAP_SERVERS={running.bootstrap}\n"
              f"phospho-stream up: dashboard on {running.web.login_url}\n"
              f"phospho-stream up: OTLP/HTTP traces on {running.otlp.traces_url}; OpenTelemetry exporters send with\n"
              f"  export OTEL_EXPORTER_OTLP_ENDPOINT={running.otlp.endpoint}\n"
              f"phospho-stream up: store {running.store.dsn}; logs in {data_dir / 'logs'}", file=sys.stderr, flush=True)
        running.status.start()
        if demo is not None:
            threading.Thread(target=demo, args=(running.store, stop, running.bootstrap), name="phospho-demo",
                             daemon=True).start()
        while not stop.wait(0.5):
            for line in running.children.watch():
                running.status.note(line)
    finally:
        _stop(running, settings, data_dir)
        lock.close()
    return 0
