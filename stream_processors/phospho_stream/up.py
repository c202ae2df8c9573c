"""`phospho-stream up`: the whole pipeline in one command.

The embedded broker (when no Kafka address is configured), the store's migrations, the sink
(a thread), a loopback endpoint answering read-only queries (chDB opens its directory in one
process only, so `phospho-stream query` asks this process while it runs), the dashboard (on the
same store, one read at a time with the query endpoint), a status line, and
a faust worker in the main thread. `--demo` logs the demo traffic through the real SDK, waits
until it is queryable, prints the insights, and stops (the data stays for `query`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from phospho_schemas import Topics
from phospho_sinks import SinkRunner, StoreError, connect, migrate, read_only_query

from .local.broker import EmbeddedBroker

__all__ = ["run_up", "running_pipeline", "QUERY_FILE"]

QUERY_FILE = "up.json"


def _data_dir() -> Path:
    path = Path(os.environ.get("PHOSPHO_DATA_DIR", ".phospho")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def running_pipeline(dsn: str | None) -> dict[str, Any] | None:
    """The `up` process serving this DSN's store, if one runs (from its up.json)."""
    path = _data_dir() / QUERY_FILE
    try:
        info = json.loads(path.read_text())
        os.kill(info["pid"], 0)
    except (OSError, ValueError, KeyError):
        return None
    if dsn is not None and dsn != info.get("dsn"):
        return None
    return info


def _query_server(store: Any, lock: threading.Lock) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with lock:
                    result = read_only_query(store, body["sql"], body.get("params"))
                payload, status = {"columns": result.columns, "rows": result.rows}, 200
            except (StoreError, ValueError, KeyError) as exc:
                payload, status = {"error": str(exc)}, 400
            data = json.dumps(payload, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


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

    from .insights import run_insights
    from .local.demo_traffic import generate_traffic
    from .query import render

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
    print(run_insights(lambda sql: read_only_query(store, sql), render), file=sys.__stdout__, flush=True)
    done.set()


def run_up(dsn: str | None, demo_events: int | None = None, keep_running: bool = False,
           host: str = "127.0.0.1", port: int = 0) -> int:
    from .dashboard import dashboard_url, start_dashboard
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
    lock = threading.Lock()  # one read at a time: the query endpoint and the dashboard share the store
    server = _query_server(store, lock)
    try:
        dashboard = start_dashboard(store, lock, host, port)
    except OSError as exc:
        print(f"phospho-stream up: the dashboard cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        store.close()
        if broker is not None:
            broker.stop()
        return 1
    threads = [threading.Thread(target=sink.run, args=(stop,), name="phospho-sink", daemon=True),
               threading.Thread(target=server.serve_forever, name="phospho-query", daemon=True),
               threading.Thread(target=_status, args=(stop, sink, bootstrap, topics, settings.app_id), daemon=True)]
    if demo_events:
        threads.append(threading.Thread(target=_demo, args=(demo_events, store, demo_done), daemon=True))
    info_path = data_dir / QUERY_FILE
    info_path.write_text(json.dumps({"pid": os.getpid(), "url": f"http://127.0.0.1:{server.server_address[1]}/query",
                                     "dsn": store.dsn, "bootstrap": bootstrap, "dashboard": dashboard_url(dashboard)}))
    print(f"phospho-stream up: Kafka {bootstrap}, store {store.dsn}, query endpoint on 127.0.0.1:{server.server_address[1]}",
          file=sys.stderr, flush=True)
    print(f"phospho-stream up: dashboard on {dashboard_url(dashboard)}", file=sys.stderr, flush=True)
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
        info_path.unlink(missing_ok=True)  # first: `query` and `dashboard` stop coming here
        for http in (server, dashboard):  # closed, not only stopped: a request then fails at once
            http.shutdown()
            http.server_close()
        stop.set()
        threads[0].join(30)
        store.close()
        if broker is not None:
            broker.stop()
    return 0 if (not demo_events or demo_done.is_set()) else 1
