"""`phospho-stream`: the project's command line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .errors import BrokerError
from .local.broker import DEFAULT_PARTITIONS, EmbeddedBroker

__all__ = ["main"]


def _cmd_broker(args: argparse.Namespace) -> int:
    broker = EmbeddedBroker(port=args.port, topic_prefix=args.topic_prefix, partitions=args.partitions)
    try:
        bootstrap = broker.start()
    except BrokerError as exc:
        print(f"phospho-stream broker: {exc}", file=sys.stderr)
        return 1
    print(bootstrap, flush=True)
    print(f"# Tansu broker (memory storage) on {bootstrap}; topics: {', '.join(broker.topics.all())}", file=sys.stderr)
    print(f"# export PHOSPHO_KAFKA_BOOTSTRAP_SERVERS={bootstrap}   (Ctrl-C stops it)", file=sys.stderr)
    print("# workers on this broker: export PHOSPHO_WORKER_PRODUCER_BATCH_BYTES=1 (exact lag figures)",
          file=sys.stderr, flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        while not stopped.wait(1.0):
            if not broker.running:
                print("phospho-stream broker: the broker exited", file=sys.stderr)
                return 1
    finally:
        broker.stop()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .local.demo import run_demo

    return run_demo(events=args.events)


def _cmd_query(args: argparse.Namespace) -> int:
    from phospho_sinks import StoreError

    from .query import run_query

    params = {}
    for item in args.param or []:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"phospho-stream query: --param wants name=value, got {item!r}", file=sys.stderr)
            return 2
        params[name] = value
    try:
        print(run_query(args.sql, args.dsn, args.format, params or None))
    except StoreError as exc:
        print(f"phospho-stream query: {exc}", file=sys.stderr)
        return 1
    return 0


def _bootstrap_or_exit() -> str:
    bootstrap = os.environ.get("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        print("phospho-stream: set PHOSPHO_KAFKA_BOOTSTRAP_SERVERS (a worker joins an existing pipeline)", file=sys.stderr)
        raise SystemExit(2)
    return bootstrap


def _project_config(argument: str | None, command: str):
    """The project YAML (--config, else PHOSPHO_CONFIG), or the defaults; a bad one ends the
    command with one line naming the field and its line."""
    from .config import ConfigError, ProjectConfig, config_path_from_env, load_config

    path = config_path_from_env(argument)
    try:
        return load_config(path) if path is not None else ProjectConfig()
    except ConfigError as exc:
        print(f"phospho-stream {command}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _cmd_worker(args: argparse.Namespace) -> int:
    from .settings import WorkerSettings
    from .worker.app import run_app

    _bootstrap_or_exit()
    config = _project_config(args.config, "worker")
    settings = WorkerSettings(**({"topic_partitions": args.partitions} if args.partitions else {}))
    if args.stage == "analytics":
        from .worker.analytics import analytics_app

        app, engine = analytics_app(settings, config)
    elif args.stage == "evaluation":
        from .engine.evaluation import write_off_status
        from .errors import LLMError
        from .worker.evaluation import evaluation_app

        off = _evaluation_off(config)
        if off:
            path = write_off_status(settings.data_path(), off)
            print(f"phospho-stream worker --stage evaluation: off: {off} (status in {path})", file=sys.stderr)
            return 0
        try:
            app, engine = evaluation_app(settings, config)
        except LLMError as exc:
            print(f"phospho-stream worker --stage evaluation: {exc}", file=sys.stderr)
            return 2
    else:
        from .worker.core import core_app

        app, engine = core_app(settings)
    run_app(app, loglevel=args.loglevel, on_stop=engine.close)
    return 0


def _evaluation_off(config) -> str | None:
    """Why the evaluation stage has nothing to do with this config, or None."""
    if config.llm is None:
        return "the config has no `llm:` section (an OpenAI-compatible endpoint), so nothing is evaluated"
    if (config.evaluation is None or not config.evaluation.enabled) and not config.llm_events:
        return "the config enables no evaluation (`evaluation: {enabled: true}`) and defines no llm_detection event"
    return None


def _cmd_up(args: argparse.Namespace) -> int:
    from .up import run_up

    return run_up(args.dsn, demo_events=args.events if args.demo else None, keep_running=args.keep_running,
                  host=args.host, port=args.port)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from .dashboard import run_dashboard

    return run_dashboard(args.dsn, args.host, args.port)


def _cmd_sink(args: argparse.Namespace) -> int:
    """The sink alone (one per store): row topics -> ClickHouse, until SIGINT/SIGTERM."""
    from phospho_schemas import Topics
    from phospho_sinks import SinkRunner, connect, migrate

    store = connect(args.dsn)
    migrate(store)
    topics = Topics(os.environ.get("PHOSPHO_TOPIC_PREFIX") or "phospho.")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"phospho-stream sink: {topics.prefix}rows.* -> {store.dsn}", file=sys.stderr, flush=True)
    try:
        SinkRunner(_bootstrap_or_exit(), store, topics).run(stop)
    finally:
        store.close()
    return 0


def _cmd_insights(args: argparse.Namespace) -> int:
    from phospho_sinks import StoreError

    from .insights import run_insights
    from .query import execute, render

    try:
        print(run_insights(lambda sql: execute(sql, args.dsn), lambda r: render(r, args.format)))
    except StoreError as exc:
        print(f"phospho-stream insights: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_topics(args: argparse.Namespace) -> int:
    """A topics run: recent task inputs grouped and named, rows through the sink."""
    from phospho_sinks import StoreError

    from .clustering import open_reader, parse_since, run_topics
    from .clustering.report import render_run
    from .errors import PhosphoStreamError
    from .settings import WorkerSettings

    try:
        since_ms = parse_since(args.since)
    except ValueError as exc:
        print(f"phospho-stream topics: {exc}", file=sys.stderr)
        return 2
    _bootstrap_or_exit()
    config = _project_config(args.config, "topics")
    settings = WorkerSettings(**({"topic_partitions": args.partitions} if args.partitions else {}))
    try:
        read, close = open_reader(args.dsn)
        try:
            run = run_topics(settings, config, read, since_ms, limit=args.limit, k=args.clusters, seed=args.seed)
        finally:
            close()
    except (ValueError, StoreError, PhosphoStreamError) as exc:
        print(f"phospho-stream topics: {exc}", file=sys.stderr)
        return 1
    print(render_run(run))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="phospho-stream", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("broker", help="run the embedded Kafka-protocol broker (Tansu) until interrupted")
    b.add_argument("--port", type=int, default=None, help="loopback port (default: a free one)")
    b.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    b.add_argument("--topic-prefix", default=os.environ.get("PHOSPHO_TOPIC_PREFIX", "phospho."))
    b.set_defaults(func=_cmd_broker)
    d = sub.add_parser("demo", help="log realistic traffic with the phospho SDK to an embedded broker and read it back")
    d.add_argument("--events", type=int, default=200, help="number of conversation turns to log")
    d.set_defaults(func=_cmd_demo)
    w = sub.add_parser("worker", help="run one more stream worker of a stage (joins its group: this is how operators scale)")
    w.add_argument("--stage", choices=("core", "analytics", "evaluation"), default="core",
                   help="core: joins and sessions; analytics: language, sentiment, events, cost (its own group); "
                   "evaluation: LLM verdicts and LLM events through the config's `llm:` endpoint (its own group)")
    w.add_argument("--config", default=None, help="the project YAML (default: PHOSPHO_CONFIG)")
    w.add_argument("--partitions", type=int, default=None, help="partitions of the topics (default: PHOSPHO_TOPIC_PARTITIONS or 4)")
    w.add_argument("--loglevel", default="warn", choices=("crit", "error", "warn", "info", "debug"))
    w.set_defaults(func=_cmd_worker)
    u = sub.add_parser("up", help="the whole pipeline: embedded broker if none is configured, worker, sink, status line")
    u.add_argument("--dsn", default=None, help="ClickHouse DSN (default: PHOSPHO_CLICKHOUSE_DSN, else chdb://$PHOSPHO_DATA_DIR/chdb)")
    u.add_argument("--demo", action="store_true", help="log the demo traffic, wait until it is queryable, print the insights, stop")
    u.add_argument("--events", type=int, default=200, help="demo conversation turns")
    u.add_argument("--keep-running", action="store_true", help="with --demo: keep the pipeline running afterwards")
    u.add_argument("--host", default="127.0.0.1", help="the dashboard's address (default: loopback)")
    u.add_argument("--port", type=int, default=0, help="the dashboard's port (default: a free one, printed)")
    u.set_defaults(func=_cmd_up)
    s = sub.add_parser("sink", help="the sink alone: the workers' row topics into ClickHouse (one sink per store)")
    s.add_argument("--dsn", default=None)
    s.set_defaults(func=_cmd_sink)
    db = sub.add_parser("dashboard", help="the dashboard alone (tasks, sessions, users, insights) on a store, e.g. a ClickHouse server")
    db.add_argument("--dsn", default=None, help="clickhouse://user:pass@host:port/db or chdb://<dir> "
                    "(default: PHOSPHO_CLICKHOUSE_DSN, else chdb://$PHOSPHO_DATA_DIR/chdb; through `up` while it holds it)")
    db.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    db.add_argument("--port", type=int, default=0, help="port (default: a free one; the URL is stdout's first line)")
    db.set_defaults(func=_cmd_dashboard)
    i = sub.add_parser("insights", help="session and user insights (tasks per session, durations, ending messages, power and struggling users)")
    i.add_argument("--dsn", default=None)
    i.add_argument("--format", choices=("table", "csv", "json"), default="table")
    i.set_defaults(func=_cmd_insights)
    t = sub.add_parser("topics", help="group the inputs of recent tasks into named topics (a run; its rows go "
                       "through the sink to phospho.topics and phospho.task_topics)")
    t.add_argument("--since", default="7d", help="how far back (30m, 24h, 7d, 2w; default 7d)")
    t.add_argument("--clusters", type=int, default=None, help="the number of topics (default: found from the data)")
    t.add_argument("--limit", type=int, default=20_000, help="the latest tasks read at most (default 20,000)")
    t.add_argument("--seed", type=int, default=0, help="the same seed on the same tasks gives the same topics")
    t.add_argument("--config", default=None, help="the project YAML (llm: names topics, llm.embeddings_model groups them)")
    t.add_argument("--dsn", default=None)
    t.add_argument("--partitions", type=int, default=None)
    t.set_defaults(func=_cmd_topics)
    q = sub.add_parser("query", help="run one read-only SQL statement on the configured ClickHouse (chDB or server)")
    q.add_argument("sql")
    q.add_argument("--dsn", default=None, help="chdb://<dir> or clickhouse://user:pass@host:port/db "
                   "(default: PHOSPHO_CLICKHOUSE_DSN, else chdb://$PHOSPHO_DATA_DIR/chdb)")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    q.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="bind a {NAME:Type} placeholder (repeatable); values are never spliced into the SQL")
    q.set_defaults(func=_cmd_query)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
