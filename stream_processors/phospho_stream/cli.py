"""`phospho-stream`: the project's command line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import BrokerError
from .local.broker import DEFAULT_PARTITIONS, EmbeddedBroker

if TYPE_CHECKING:
    from .settings import ReadSettings

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


def _read_command(name: str, run: Callable[[ReadSettings], str | int], **arguments: Any) -> int:
    """A read command: its settings, then `run`; what it prints goes to stdout. Nothing to read
    or a bad setting: one line, exit code 2; a refused or failed query: one line, exit code 1."""
    from phospho_sinks import StoreError

    from .errors import NothingToRead, PhosphoStreamError, SettingsError, UsageError
    from .settings import ReadSettings

    try:
        outcome = run(ReadSettings.load(**arguments))
    except (NothingToRead, SettingsError, UsageError) as exc:
        print(f"phospho-stream {name}: {exc}", file=sys.stderr)
        return 2
    except (StoreError, PhosphoStreamError) as exc:
        print(f"phospho-stream {name}: {exc}", file=sys.stderr)
        return 1
    if isinstance(outcome, int):
        return outcome
    print(outcome)
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    from .read.query import run_query

    params = {}
    for item in args.param or []:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"phospho-stream query: --param wants name=value, got {item!r}", file=sys.stderr)
            return 2
        params[name] = value
    return _read_command("query", lambda settings: run_query(settings, args.sql, args.format, params or None),
                         dsn=args.dsn)


def kafka_answers(bootstrap: str) -> bool:
    from .engine.topics import kafka_answers as answers

    return answers(bootstrap)


def _bootstrap_or_exit(why: str = "a worker joins an existing pipeline", *, must_answer: bool = True) -> str:
    """The configured Kafka, checked to answer unless told (one line and exit 2 otherwise)."""
    bootstrap = os.environ.get("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        print(f"phospho-stream: set PHOSPHO_KAFKA_BOOTSTRAP_SERVERS ({why})", file=sys.stderr)
        raise SystemExit(2)
    if must_answer and not kafka_answers(bootstrap):
        print(f"phospho-stream: no Kafka answers at {bootstrap} (PHOSPHO_KAFKA_BOOTSTRAP_SERVERS): check the "
              "address, or start it", file=sys.stderr)
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


def _check_privacy(config, command: str) -> None:
    """The config's redaction rules can run here: a hash rule without its salt ends the command
    with one line naming the variable."""
    from .config import ConfigError

    try:
        config.privacy.redactor()
    except ConfigError as exc:
        print(f"phospho-stream {command}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _since_ms(text: str | None) -> int:
    """--since: a duration back from now (30m, 12h, 7d) or a date (2026-11-01); none: everything."""
    import datetime as dt
    import re
    import time

    if not text:
        return 0
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([mhd])", text.strip())
    if match:
        seconds = float(match.group(1)) * {"m": 60, "h": 3600, "d": 86400}[match.group(2)]
        return int((time.time() - seconds) * 1000)
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"phospho-stream: --since wants 30m, 12h, 7d or a date like 2026-11-01, got {text!r}") from None
    return int((at if at.tzinfo else at.replace(tzinfo=dt.UTC)).timestamp() * 1000)


def _cmd_reanalyze(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from phospho_schemas import Topics

    from .jobs.reanalyze import reanalyze
    from .read import find_running_up, open_source
    from .settings import PipelineSettings, ReadSettings, load_settings

    config = _project_config(args.config, "reanalyze")
    read_settings = load_settings(ReadSettings)
    running = find_running_up(read_settings.data_dir)
    bootstrap = os.environ.get("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS") or (running.bootstrap if running else None)
    if not bootstrap:
        print("phospho-stream reanalyze: its results go through the pipeline's sink: start `phospho-stream up` "
              "(or set PHOSPHO_KAFKA_BOOTSTRAP_SERVERS to the pipeline's Kafka)", file=sys.stderr)
        return 2
    pipeline = load_settings(PipelineSettings)
    source = open_source(read_settings)
    try:
        with Progress(transient=True) as progress:
            bar = progress.add_task("reanalysing sessions", total=None)
            result = reanalyze(source.read, bootstrap, Topics(pipeline.topic_prefix), pipeline.topic_partitions, config,
                               _since_ms(args.since), args.project, progress=lambda done, total: progress.update(bar, completed=done,
                                                                                                  total=total))
    finally:
        source.close()
    print(f"reanalysed {result.tasks:,} tasks with {result.version}: {result.events:,} events detected, "
          f"{result.retracted:,} retracted, {result.sessions:,} sessions updated (the sink writes them in a moment)")
    return 0


def _cmd_delete_user(args: argparse.Namespace) -> int:
    from .jobs.delete_user import run_delete_user

    return _read_command("delete-user", lambda settings: run_delete_user(settings, args.user_id, args.dry_run,
                                                                          args.timeout), dsn=args.dsn)


def _cmd_export(args: argparse.Namespace) -> int:
    from .jobs.export import run_export

    since = _since_ms(args.since)
    return _read_command("export", lambda settings: run_export(settings, args.view, args.format, args.output, since,
                                                                args.user), dsn=args.dsn)


def _cmd_settings(args: argparse.Namespace) -> int:
    """Every setting of the pipeline's processes: variable, default, meaning, who reads it."""
    from rich.console import Console
    from rich.table import Table

    from .settings import describe_settings, settings_markdown

    if args.markdown:
        print(settings_markdown())
        return 0
    table = Table("variable", "default", "meaning", "read by")
    for row in describe_settings():
        table.add_row(*row)
    Console().print(table)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    """Where a running up serves everything, and its last status figures."""
    import json

    from rich.console import Console
    from rich.table import Table

    from .local.status import STATUS_FILE
    from .read import find_running_up
    from .settings import ReadSettings, load_settings

    data_dir = load_settings(ReadSettings).data_dir
    running = find_running_up(data_dir)
    if running is None:
        print(f"phospho-stream status: no up runs on {data_dir} (no live {data_dir / 'up.json'}); "
              "start one with `phospho-stream up`", file=sys.stderr)
        return 2
    table = Table(show_header=False, box=None)
    for name, value in (("pid", running.pid), ("Kafka", running.bootstrap), ("dashboard", running.url),
                        ("OTLP/HTTP", running.otlp or "not running"), ("store", running.dsn),
                        ("data dir", running.data_dir or data_dir)):
        table.add_row(name, str(value))
    try:
        facts = json.loads((data_dir / STATUS_FILE).read_text())
        for name in ("events_per_s", "events_in", "rows_written", "core_lag", "analytics_backlog",
                     "evaluation_backlog", "evaluation", "restarts", "store_paused"):
            if name in facts:
                table.add_row(name.replace("_", " "), f"{facts[name]:,}" if isinstance(facts[name], int | float)
                              and not isinstance(facts[name], bool) else str(facts[name]))
    except (OSError, ValueError):
        table.add_row("figures", "not yet (up writes them every few seconds)")
    Console().print(table)
    return 0


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
        from .engine.evaluation import off_reason, write_off_status
        from .errors import LLMError
        from .worker.evaluation import evaluation_app

        off = off_reason(config)
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
        from .config import ConfigError
        from .worker.core import core_app

        try:
            app, engine = core_app(settings, config)
        except ConfigError as exc:  # a hash rule without its salt
            print(f"phospho-stream worker: {exc}", file=sys.stderr)
            return 2
    run_app(app, loglevel=args.loglevel, on_stop=engine.close)
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from .errors import SettingsError
    from .local.demo_up import DEMO_CONFIG, demo_in_up
    from .local.up import run_up
    from .settings import UpSettings, load_settings

    if args.dsn:
        os.environ["PHOSPHO_CLICKHOUSE_DSN"] = args.dsn
    try:
        settings = load_settings(UpSettings, kafka_port=args.kafka_port, dashboard_port=args.dashboard_port,
                                 otlp_port=args.otlp_port, host=args.host, config=args.config)
    except SettingsError as exc:
        print(f"phospho-stream up: {exc}", file=sys.stderr)
        return 2
    config_path = settings.config or (DEMO_CONFIG if args.demo else None)
    config = _project_config(str(config_path) if config_path else None, "up")  # a bad config: one line, nothing starts
    _check_privacy(config, "up")
    outcome: list[bool] = []
    demo = demo_in_up(args.events, settings.data_path(), args.keep_running, outcome) if args.demo else None
    code = run_up(settings, config_path, demo, args.log_level, config)
    return code if code or not args.demo else (0 if outcome else 1)


def _cmd_otlp(args: argparse.Namespace) -> int:
    """The OTLP/HTTP receiver alone, producing to PHOSPHO_KAFKA_BOOTSTRAP_SERVERS."""
    from .errors import SettingsError
    from .otlp import run_otlp
    from .settings import OtlpSettings, load_settings

    # like the SDK, the receiver spools what it takes while Kafka is away
    _bootstrap_or_exit("the OTLP receiver produces to an existing pipeline's Kafka", must_answer=False)
    try:
        settings = load_settings(OtlpSettings, otlp_host=args.host, otlp_port=args.port, otlp_project_id=args.project_id)
    except SettingsError as exc:
        print(f"phospho-stream otlp: {exc}", file=sys.stderr)
        return 2
    return run_otlp(settings)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from .read.run import run_dashboard

    return _read_command("dashboard", run_dashboard, dsn=args.dsn, host=args.host, port=args.port)


def _cmd_sink(args: argparse.Namespace) -> int:
    """The sink alone (one per store): row topics -> ClickHouse, until SIGINT/SIGTERM."""
    from phospho_schemas import Topics
    from phospho_sinks import SinkRunner, apply_retention, connect, migrate

    from .settings import SinkSettings, load_settings

    bootstrap = _bootstrap_or_exit()
    settings = load_settings(SinkSettings, clickhouse_dsn=args.dsn)
    retention = _project_config(args.config, "sink").privacy.retention
    store = connect(settings.clickhouse_dsn or f"chdb://{settings.data_path() / 'chdb'}")
    migrate(store)
    for statement in apply_retention(store, retention.raw_text_days, retention.aggregates_days):
        print(f"phospho-stream sink: retention changed: {statement}", file=sys.stderr, flush=True)
    topics = Topics(settings.topic_prefix)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"phospho-stream sink: {topics.prefix}rows.* -> {store.dsn}", file=sys.stderr, flush=True)
    try:
        SinkRunner(bootstrap, store, topics, max_rows=settings.sink_max_rows,
                   max_seconds=settings.sink_max_seconds, min_seconds=settings.sink_min_seconds).run(stop)
    finally:
        store.close()
    return 0


def _cmd_insights(args: argparse.Namespace) -> int:
    from .read.insights import run_insights

    return _read_command("insights", lambda settings: run_insights(settings, args.format), dsn=args.dsn)


def _cmd_topics(args: argparse.Namespace) -> int:
    """A topics run: recent task inputs grouped and named; its rows go through the pipeline's sink."""
    from phospho_sinks import StoreError

    from .clustering import open_reader, parse_since, run_topics
    from .clustering.report import render_run
    from .errors import NothingToRead, PhosphoStreamError, SettingsError
    from .read import find_running_up
    from .settings import ReadSettings, WorkerSettings, load_settings

    try:
        since_ms = parse_since(args.since)
        read_settings = load_settings(ReadSettings, dsn=args.dsn)
    except (ValueError, SettingsError) as exc:
        print(f"phospho-stream topics: {exc}", file=sys.stderr)
        return 2
    config = _project_config(args.config, "topics")
    running = find_running_up(read_settings.data_dir)
    bootstrap = os.environ.get("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS") or (running.bootstrap if running else None)
    if not bootstrap:
        print("phospho-stream topics: its rows go through the pipeline's sink: start `phospho-stream up` "
              "(or set PHOSPHO_KAFKA_BOOTSTRAP_SERVERS to the pipeline's Kafka)", file=sys.stderr)
        return 2
    settings = load_settings(WorkerSettings, bootstrap=bootstrap, topic_partitions=args.partitions)
    try:
        read, close = open_reader(read_settings)
        try:
            run = run_topics(settings, config, read, since_ms, limit=args.limit, k=args.clusters, seed=args.seed)
        finally:
            close()
    except NothingToRead as exc:
        print(f"phospho-stream topics: {exc}", file=sys.stderr)
        return 2
    except (ValueError, StoreError, PhosphoStreamError) as exc:
        print(f"phospho-stream topics: {exc}", file=sys.stderr)
        return 1
    print(render_run(run))
def _cmd_describe(args: argparse.Namespace) -> int:
    from .read.describe import describe

    try:
        print(describe(args.view, args.markdown))
    except KeyError as exc:
        print(f"phospho-stream describe: {exc.args[0]}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="phospho-stream", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
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
    se = sub.add_parser("settings", help="every setting of the pipeline's processes: variable, default, meaning")
    se.add_argument("--markdown", action="store_true", help="as the README's markdown table")
    se.set_defaults(func=_cmd_settings)
    st = sub.add_parser("status", help="where a running up serves everything (Kafka, dashboard, OTLP, data dir) and its lag")
    st.set_defaults(func=_cmd_status)
    ra = sub.add_parser("reanalyze", help="run the analysis again over stored tasks (after a config change)")
    ra.add_argument("--since", default=None, help="only sessions with a task since then: 30m, 12h, 7d or a date")
    ra.add_argument("--config", default=None, help="the project YAML (default: PHOSPHO_CONFIG)")
    ra.add_argument("--project", default=None, help="only this project's tasks (default: every project)")
    ra.set_defaults(func=_cmd_reanalyze)
    u = sub.add_parser("up", help="the whole pipeline on this machine: broker, stage workers, sink, dashboard, status")
    u.add_argument("--dsn", default=None, help="ClickHouse DSN (default: PHOSPHO_CLICKHOUSE_DSN, else chdb://$PHOSPHO_DATA_DIR/chdb)")
    u.add_argument("--config", default=None, help="the project YAML (default: PHOSPHO_CONFIG; with --demo, the demo's)")
    u.add_argument("--demo", action="store_true", help="log the demo traffic, wait until it is analysed, print the insights, stop")
    u.add_argument("--events", type=int, default=120, help="demo conversations")
    u.add_argument("--keep-running", action="store_true", help="with --demo: keep the pipeline running afterwards")
    u.add_argument("--host", default=None, help="the address up serves on (default: PHOSPHO_HOST, else loopback)")
    u.add_argument("--kafka-port", type=int, default=None, help="the embedded broker's port (default 9092; 0: a free one)")
    u.add_argument("--dashboard-port", "--port", type=int, default=None, help="the dashboard's port (default 8765; 0: a free one)")
    u.add_argument("--log-level", default="warn", choices=("crit", "error", "warn", "info", "debug"),
                   help="the stage workers' logging, in the data directory's logs/ (default: warnings only)")
    u.add_argument("--otlp-port", type=int, default=None,
                   help="the OTLP/HTTP receiver's port (default: PHOSPHO_OTLP_PORT, else 4318; 0: a free one)")
    u.set_defaults(func=_cmd_up)
    o = sub.add_parser("otlp", help="the OTLP/HTTP receiver alone: OpenTelemetry traces from any language into the "
                       "pipeline's Kafka (PHOSPHO_KAFKA_BOOTSTRAP_SERVERS); stdout's first line is its traces URL")
    o.add_argument("--host", default=None, help="address to listen on (default: PHOSPHO_OTLP_HOST, else loopback)")
    o.add_argument("--port", type=int, default=None, help="port (default: PHOSPHO_OTLP_PORT, else 4318; 0: a free one)")
    o.add_argument("--project-id", default=None,
                   help="the project of what it receives (default: PHOSPHO_OTLP_PROJECT_ID, else PHOSPHO_PROJECT_ID, else otlp)")
    o.set_defaults(func=_cmd_otlp)
    s = sub.add_parser("sink", help="the sink alone: the workers' row topics into ClickHouse (one sink per store)")
    s.add_argument("--dsn", default=None)
    s.add_argument("--config", default=None, help="the project YAML (default: PHOSPHO_CONFIG): its privacy.retention "
                   "becomes the tables' TTLs")
    s.set_defaults(func=_cmd_sink)
    db = sub.add_parser("dashboard", help="the dashboard alone (tasks, sessions, users, insights) on a store, e.g. a ClickHouse server")
    db.add_argument("--dsn", default=None, help="clickhouse://user:pass@host:port/db or chdb://<dir> "
                    "(default: PHOSPHO_CLICKHOUSE_DSN, else chdb://$PHOSPHO_DATA_DIR/chdb; through `up` while it holds it)")
    db.add_argument("--host", default=None, help="address to listen on (default: PHOSPHO_READ_HOST, else loopback)")
    db.add_argument("--port", type=int, default=None,
                    help="port (default: PHOSPHO_READ_PORT, else a free one); stdout's first line is the URL to open, with its token")
    db.set_defaults(func=_cmd_dashboard)
    du = sub.add_parser("delete-user", help="remove a user's tasks, spans, feedback, events, evaluations and sessions "
                        "from every table, keep a tombstone and an audit row (phospho.deletions)")
    du.add_argument("user_id")
    du.add_argument("--dry-run", action="store_true", help="print what would be removed; change nothing")
    du.add_argument("--dsn", default=None, help="the store (default: PHOSPHO_CLICKHOUSE_DSN, else chdb://$PHOSPHO_DATA_DIR/chdb)")
    du.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the pipeline's sink to confirm")
    du.set_defaults(func=_cmd_delete_user)
    ex = sub.add_parser("export", help="stream a view of the phospho database to a file (an access request: --user)")
    ex.add_argument("view", help="tasks, spans, feedback, sessions, users, events, evaluations, topics, task_topics, "
                    "dead_letters or deletions")
    ex.add_argument("--format", choices=("parquet", "csv", "jsonl"), required=True)
    ex.add_argument("--since", default=None, help="only rows since then: 30m, 12h, 7d or a date")
    ex.add_argument("--user", default=None, help="only this user's rows")
    ex.add_argument("--output", default=None, help="the file (default: <view>.<format> here)")
    ex.add_argument("--dsn", default=None)
    ex.set_defaults(func=_cmd_export)
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
    dv = sub.add_parser("describe", help="the analysts' views, or one view's columns with their meaning (no store needed)")
    dv.add_argument("view", nargs="?", default=None, help="tasks, sessions, users, events, spans, ... (default: list the views)")
    dv.add_argument("--markdown", action="store_true", help="as the README's markdown tables")
    dv.set_defaults(func=_cmd_describe)
    q = sub.add_parser("query", help="run one SELECT over the phospho database on the configured ClickHouse (chDB or server)")
    q.add_argument("sql")
    q.add_argument("--dsn", default=None, help="chdb://<dir> or clickhouse://user:pass@host:port/db "
                   "(default: PHOSPHO_CLICKHOUSE_DSN, else chdb://$PHOSPHO_DATA_DIR/chdb)")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    q.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="bind a {NAME:Type} placeholder (repeatable); values are never spliced into the SQL")
    q.set_defaults(func=_cmd_query)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; a failure it did not expect is one line (the traceback with --debug)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns any failure into one line
        if args.debug:
            raise
        print(f"phospho-stream {args.command}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              "(run again with --debug for the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
