"""`phospho-stream up`: the whole pipeline in one command.

The embedded broker (when no Kafka address is configured), the store's migrations, the sink
(a thread), the read app (read/: the dashboard and the query endpoint that `phospho-stream
query` asks while this process holds the store, since chDB opens its directory in one process
only; its URL and token are in up.json), a status line, and a faust worker in the main thread. `--demo` logs the demo traffic through the real SDK, waits
until it is queryable, prints the insights, and stops (the data stays for `query`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from phospho_schemas import Topics
from phospho_sinks import SinkRunner, StoreError, connect, migrate

from .errors import SettingsError
from .local.broker import EmbeddedBroker
from .read import ReadServer, limits_of, remove_up_file, serve, store_reader, write_up_file
from .settings import ReadSettings

__all__ = ["run_up"]


def _data_dir() -> Path:
    path = Path(os.environ.get("PHOSPHO_DATA_DIR", ".phospho")).resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds up.json, whose token opens the store
    return path


def _status(stop: threading.Event, sink: SinkRunner, bootstrap: str, topics: Topics, group: str) -> None:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
    try:
        while not stop.wait(2.0):
            try:
                parts = [TopicPartition(t, p) for t in topics.event_topics()
                         for p in consumer.list_topics(t, timeout=5).topics[t].partitions]
                ends = sum(consumer.get_watermark_offsets(tp, timeout=5)[1] for tp in parts)
                done = sum(max(0, tp.offset) for tp in consumer.committed(parts, timeout=5))
            except Exception:
                continue
            stats = sink.stats
            line = (f"events in {done:,} | rows written {stats.rows_written:,} | lag {max(0, ends - done):,}"
                    f"{' | STORE DOWN, paused' if stats.paused else ''}")
            print(f"\r{line:<80}", end="", file=sys.stderr, flush=True)
    finally:
        consumer.close()


def _demo(events: int, store: Any, done: threading.Event) -> None:
    try:
        _run_demo(events, store, done)
    except StoreError as exc:  # e.g. `up` is stopping and closed the store
        print(f"\nphospho-stream up --demo: {exc}", file=sys.stderr)


def _run_demo(events: int, store: Any, done: threading.Event) -> None:
    import phospho

    from .local.demo_traffic import generate_traffic
    from .read import insight_results, render_insights

    seed = 7
    mine = {"p": f"demo-{seed}-%"}
    already = store.query("SELECT count() FROM phospho.tasks WHERE task_id LIKE {p:String}", mine).rows[0][0]
    if already:
        print(f"\nthe demo's {already} tasks are already in the store (same ids each run): not logged again",
              file=sys.stderr)
    else:
        phospho.init(project_id=os.environ.get("PHOSPHO_PROJECT_ID", "demo-project"),
                     spool_dir=os.environ.get("PHOSPHO_SPOOL_DIR", str(_data_dir() / "spool")))
        counts = generate_traffic(phospho, events, seed=seed)
        phospho.flush(60)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            visible = store.query("SELECT count() FROM phospho.tasks WHERE task_id LIKE {p:String}", mine).rows[0][0]
            in_sessions, tasks = store.query("SELECT (SELECT sum(task_count) FROM phospho.sessions), "
                                             "(SELECT count() FROM phospho.tasks)").rows[0]
            if visible >= counts["tasks"] and in_sessions >= tasks:  # sessions follow their tasks by one hop
                break
            time.sleep(0.5)
        print(f"\n{visible} of {counts['tasks']} demo tasks are queryable", file=sys.stderr)
    # sys.__stdout__: faust may have replaced sys.stdout by a logger while its worker runs
    print(render_insights(insight_results(store_reader(store))), file=sys.__stdout__, flush=True)
    done.set()


def _serve_reads(store: Any, host: str, port: int) -> ReadServer:
    """The read app (dashboard and query endpoint) on `store`, with the read settings' limits."""
    settings = ReadSettings.load()
    return serve(store_reader(store, limits_of(settings)), host, port, public_url=settings.public_url)


def run_up(dsn: str | None, demo_events: int | None = None, keep_running: bool = False,
           host: str = "127.0.0.1", port: int = 0) -> int:
    from .settings import WorkerSettings
    from .worker.app import run_app
    from .worker.core import core_app

    data_dir = _data_dir()
    bootstrap = os.environ.get("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    topics = Topics(os.environ.get("PHOSPHO_TOPIC_PREFIX") or "phospho.")
    broker = None
    if not bootstrap:
        broker = EmbeddedBroker(topic_prefix=topics.prefix, log_path=data_dir / "tansu.log")
        bootstrap = broker.start()
        os.environ["PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        # Tansu's high watermark stops at its last batch's first record: one row message per
        # batch keeps the lag on the status line exact (see WorkerSettings.producer_batch_bytes)
        os.environ.setdefault("PHOSPHO_WORKER_PRODUCER_BATCH_BYTES", "1")
    store = connect(dsn)
    migrate(store)
    settings = WorkerSettings(bootstrap=bootstrap)
    stop, demo_done = threading.Event(), threading.Event()
    sink = SinkRunner(bootstrap, store, topics)
    try:
        web = _serve_reads(store, host, port)
    except (OSError, SettingsError) as exc:
        where = f"the dashboard cannot listen on {host}:{port}: " if isinstance(exc, OSError) else ""
        print(f"phospho-stream up: {where}{getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        store.close()
        if broker is not None:
            broker.stop()
        return 1
    threads = [threading.Thread(target=sink.run, args=(stop,), name="phospho-sink", daemon=True),
               threading.Thread(target=_status, args=(stop, sink, bootstrap, topics, settings.app_id), daemon=True)]
    if demo_events:
        threads.append(threading.Thread(target=_demo, args=(demo_events, store, demo_done), daemon=True))
    write_up_file(data_dir, {"pid": os.getpid(), "url": web.query_url, "dashboard": web.url, "token": web.token,
                             "dsn": store.dsn, "bootstrap": bootstrap})
    print(f"phospho-stream up: Kafka {bootstrap}, store {store.dsn}", file=sys.stderr, flush=True)
    print(f"phospho-stream up: dashboard on {web.login_url}", file=sys.stderr, flush=True)
    if demo_events and not keep_running:
        threading.Thread(target=lambda: demo_done.wait() and os.kill(os.getpid(), signal.SIGINT), daemon=True).start()
    for thread in threads:
        thread.start()
    app, engine = core_app(settings)
    try:
        run_app(app, on_stop=engine.close)
    except SystemExit:
        pass
    finally:
        remove_up_file(data_dir)  # first: `query` and `dashboard` stop coming here
        web.stop()  # its socket closed: a request then fails at once
        stop.set()
        threads[0].join(30)
        store.close()
        if broker is not None:
            broker.stop()
    return 0 if (not demo_events or demo_done.is_set()) else 1
