#!/usr/bin/env python3
"""Pipeline benchmark: Kafka -> worker -> rows -> ClickHouse (chDB), against baselines.

    .venv/bin/python benchmarks/pipeline.py            # full run (100k tasks, 200/s x 15 s, 1M and 10M rows)
    .venv/bin/python benchmarks/pipeline.py --quick    # smoke run, small sizes, BENCHMARKS.md left alone

In one run:

1. Throughput of ONE worker. N task events (SDK `phospho.log` in a child process; N/6 app
   sessions, N/40 users, 30 % without session_id) are pre-loaded into a fresh topic prefix on an
   EmbeddedBroker (4 partitions). Then `phospho-stream worker` and `phospho-stream sink` start
   as subprocesses (the sink with its own chDB dir). The harness reads `<prefix>rows.tasks` and
   counts distinct task_ids. Worker rate = (N - tasks in the first row message) / (Kafka
   timestamp of the row message completing N - timestamp of the first row message): the
   consumer-group join and start-up are excluded by measuring from the first row (the observed
   join + first batch time is reported apart). End-to-end rate = the same numerator / (the
   moment the sink's committed offsets reach the end of every row topic - first row timestamp).
   Then the sink is stopped and `phospho.tasks` is counted in its store ("written").
2. Baseline A: a faust agent doing nothing (benchmarks/_pipeline_faust_noop.py: the worker's
   App settings, same topics, the worker's reading: manual acks, 4,000-event batches, only counts) on the same
   topic, run right before the worker alone (the run the targets read). Rate = (N - first
   batch) / (first batch -> count N): join excluded the same way. Baseline A': the same agent on
   the worker's faust consumer (faust's fetch loop without wait_first's tasks), after it.
3. Baseline B: confluent-kafka consume + EventDecoder.decode + chDB insert (JSONEachRow, 10k-row
   batches, store.insert_json_rows into a scratch MergeTree table) of the same N events, in one
   process. Rate = N / (first message -> last insert).
4. Latency log -> SQL: `phospho-stream up` (embedded broker, own PHOSPHO_DATA_DIR). After a
   warm-up (20 tasks visible: the worker has joined), a child logs M tasks at a steady rate, each
   with a unique input marker, recording time.time() at each log call; the harness POSTs to up's
   query endpoint (url and token from <data_dir>/up.json) every --poll seconds for the run's markers in
   `phospho.tasks`; latency = time of the first response showing the task - its log time.
5. Insight queries: a fresh chDB store (migrate()), task_rows / session_windows / feedback_rows
   generated with INSERT ... SELECT FROM numbers() (not through Kafka): sessions of 1-9 tasks
   (mean 5), ~S/10 users, 10 % of tasks with feedback, 1 % with an error. Each INSIGHTS query is
   timed 3 times (median) at each size.

Prints a table, the ratios and the targets (PASS/FAIL), writes .bench/pipeline.json (a --quick
run: .bench/pipeline-quick.json) and rewrites this benchmark's section of BENCHMARKS.md (between
<!-- pipeline:start --> and <!-- pipeline:end -->; the other sections are kept). A --quick run
leaves BENCHMARKS.md alone unless --write-md. Progress goes to stderr. Exit status: 0 when the
harness ran (whatever the figures), 1 with --check when a target fails, 2 when a part could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from _markdown import rewrite_section  # benchmarks/ is on sys.path when a script runs

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH_DIR = REPO / ".bench"
RESULTS_JSON = BENCH_DIR / "pipeline.json"
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
CHILD = HERE / "_pipeline_child.py"
NOOP = HERE / "_pipeline_faust_noop.py"
START, END = "<!-- pipeline:start -->", "<!-- pipeline:end -->"
TARGETS = {"worker_tps": 10_000.0, "worker_vs_noop": 0.75, "latency_p95_s": 3.0, "insight_s": 1.0}

PROCS: list[subprocess.Popen] = []  # every process this harness started, stopped in finally


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ensure_project_python() -> None:
    try:
        import confluent_kafka  # noqa: F401

        import phospho_stream  # noqa: F401
    except ImportError:
        venv_python = REPO / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
            os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
        raise SystemExit("pipeline: phospho_stream is not importable; run `make install` first") from None


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
        mem_kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal:"))
    except (OSError, StopIteration):
        mem_kb = 0
    return {"loadavg_at_start": [round(x, 2) for x in os.getloadavg()], "nproc": len(os.sched_getaffinity(0)),
            "cpu": cpu, "mem_gb": round(mem_kb / 1024 / 1024, 1), "platform": platform.platform(),
            "python": platform.python_version()}


# -- processes ----------------------------------------------------------------------------------

def cli() -> str:
    return str(Path(sys.executable).parent / "phospho-stream")


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("PYTHONPATH", "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS", "PHOSPHO_TOPIC_PREFIX",
                "PHOSPHO_APP_ID", "PHOSPHO_CLICKHOUSE_DSN", "PHOSPHO_DATA_DIR", "PHOSPHO_SCHEMA_REGISTRY_URL"):
        env.pop(var, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(cmd, env=env, cwd=str(cwd), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out.close()
    PROCS.append(proc)
    return proc


def child_pids(pid: int) -> list[int]:
    """Direct children of pid (from /proc): up's embedded broker runs in a session of its own."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            pass
    return out


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 30.0) -> bool:
    """True when the process had to be SIGKILLed."""
    killed = False
    if proc is None or proc.poll() is not None:
        return killed
    kids = child_pids(proc.pid)
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        progress(f"pid {proc.pid} ({proc.args[:2]}) did not stop within {timeout:.0f} s: SIGKILL")
        proc.kill()
        proc.wait(10)
        killed = True
    for kid in kids:  # orphaned grandchildren (up's Tansu) by pid, never by name
        try:
            os.kill(kid, signal.SIGTERM)
            for _ in range(50):
                os.kill(kid, 0)
                time.sleep(0.1)
            os.kill(kid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return killed


def run_child(mode: str, cfg: dict[str, Any], workdir: Path, timeout: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    cfg_path = workdir / f"{mode}-{uuid.uuid4().hex[:6]}.json"
    cfg["result_path"] = str(cfg_path.with_suffix(".result.json"))
    cfg_path.write_text(json.dumps(cfg))
    proc = subprocess.Popen([sys.executable, str(CHILD), mode, str(cfg_path)], env=env or base_env(), cwd=str(workdir),
                            stdout=sys.stderr, stderr=sys.stderr, stdin=subprocess.DEVNULL)
    PROCS.append(proc)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        stop(proc, timeout=5)
    try:
        res = json.loads(Path(cfg["result_path"]).read_text())
    except (OSError, ValueError):
        res = {"phase": "no result"}
    if res.get("phase") != "done":
        res.setdefault("error", f"{mode} child: phase {res.get('phase')!r}, exit {proc.returncode}")
    return res


# -- Kafka helpers ------------------------------------------------------------------------------

class RowWatcher(threading.Thread):
    """Reads <prefix>rows.tasks from the beginning; records, per message, its Kafka timestamp and
    how many new distinct task ids it brought."""

    def __init__(self, bootstrap: str, topic: str, expected: int, min_ts_ms: int = 0) -> None:
        super().__init__(daemon=True)
        self.min_ts_ms = min_ts_ms  # rows of an earlier attempt are ignored
        self.bootstrap, self.topic, self.expected = bootstrap, topic, expected
        self.ids: set[str] = set()
        self.first: tuple[int, int] | None = None  # (timestamp ms, new ids) of the first message
        self.complete_ts: int | None = None  # timestamp of the message that completed `expected`
        self.complete_seen_at: float | None = None
        self.messages = 0
        self.rows = 0
        self.stop_event = threading.Event()
        self.cpu_pid: int | None = None  # the worker: its processes' CPU is sampled at the first row
        self.cpu_at_first: tuple[float, dict[str, float]] | None = None

    def run(self) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"watch-{uuid.uuid4().hex}", "log_level": 0,
                      "enable.auto.commit": False})
        parts = c.list_topics(self.topic, timeout=10).topics[self.topic].partitions
        c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in parts])
        pending: list[Any] = []
        try:
            while not self.stop_event.is_set() and self.complete_ts is None:
                msgs = [m for m in c.consume(1000, 0.2) if not m.error() and m.timestamp()[1] >= self.min_ts_ms]
                pending += msgs
                # process in timestamp order: partitions are read in any order
                pending.sort(key=lambda m: m.timestamp()[1])
                for m in pending:
                    rows = json.loads(m.value())
                    rows = rows if isinstance(rows, list) else [rows]
                    before = len(self.ids)
                    self.ids.update(r["task_id"] for r in rows)
                    self.messages += 1
                    self.rows += len(rows)
                    ts = m.timestamp()[1]
                    if self.first is None:
                        self.first = (ts, len(self.ids) - before)
                        if self.cpu_pid:
                            self.cpu_at_first = cpu_times(self.cpu_pid)
                    if len(self.ids) >= self.expected and self.complete_ts is None:
                        self.complete_ts, self.complete_seen_at = ts, time.time()
                pending = []
        finally:
            c.close()


def cpu_times(pid: int) -> tuple[float, dict[str, float]]:
    """(now, {"worker": its CPU seconds, "engine": its child's}) from /proc (Linux)."""
    def seconds(p: int) -> float:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    out: dict[str, float] = {}
    try:
        out["worker"] = seconds(pid)
        for child in child_pids(pid):
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes():
                out["engine"] = out.get("engine", 0.0) + seconds(child)
    except (OSError, IndexError, ValueError):
        pass
    return time.time(), out


def _cores_used(first: tuple[float, dict[str, float]], last: tuple[float, dict[str, float]]) -> dict[str, float]:
    wall = last[0] - first[0]
    return {k: round((last[1][k] - first[1][k]) / wall, 2) for k in first[1] if k in last[1]} if wall > 0 else {}


def group_caught_up(bootstrap: str, group: str, topics: list[str]) -> tuple[bool, int]:
    """(committed offsets of `group` == high watermarks on every partition of `topics`, lag).
    Exact on Tansu here: the worker writes one row message per batch (PHOSPHO_WORKER_PRODUCER_BATCH_BYTES=1)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0, "enable.auto.commit": False})
    try:
        parts = [TopicPartition(t, p) for t in topics for p in c.list_topics(t, timeout=5).topics[t].partitions]
        committed = {(tp.topic, tp.partition): tp.offset for tp in c.committed(parts, timeout=10)}
        lag = 0
        for tp in parts:
            low, high = c.get_watermark_offsets(tp, timeout=5)
            done = committed[(tp.topic, tp.partition)]
            lag += max(0, high - max(done, low))
        return lag == 0, lag
    finally:
        c.close()


# -- parts 1-3: throughput --------------------------------------------------------------------

def run_throughput(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from phospho_schemas import Topics
    from phospho_stream import EmbeddedBroker

    n = args.tasks
    res: dict[str, Any] = {"tasks": n}
    broker_log = BENCH_DIR / "pipeline-tansu.log"
    broker_log.unlink(missing_ok=True)
    with EmbeddedBroker(partitions=4, log_path=broker_log) as broker:
        prefix = f"bp{uuid.uuid4().hex[:8]}."
        topics = Topics(prefix)
        broker.create_topics(topics.all())
        progress(f"throughput: broker {broker.bootstrap}, prefix {prefix}; pre-loading {n:,} tasks with the SDK")
        pre = run_child("preload", {"tasks": n, "spool_dir": str(workdir / "spool-pre")}, workdir, args.timeout,
                        env={**base_env(), "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix})
        res["preload"] = pre
        if pre.get("error") or not pre.get("flush_ok"):
            res["error"] = f"pre-load failed: {pre.get('error') or 'flush returned False'}"
            return res
        progress(f"throughput: pre-loaded {n:,} tasks in {pre['log_seconds'] + pre['flush_seconds']:.1f} s")
        data_dir = workdir / "worker-data"  # the worker keeps faust's files under PHOSPHO_DATA_DIR
        data_dir.mkdir()
        env = {**base_env(), "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
               "PHOSPHO_PROJECT_ID": "bench-pipeline", "PHOSPHO_DATA_DIR": str(data_dir), "PHOSPHO_WORKER_PRODUCER_BATCH_BYTES": str(args.producer_batch_bytes)}
        res["worker"] = run_worker_and_sink(broker.bootstrap, topics, env, n, workdir, args)
        if not args.skip_baselines:  # A next to the run the targets read (the machine's speed drifts)
            res["noop"] = run_noop(broker.bootstrap, prefix, n, workdir, args)
        res["alone"] = run_worker_alone(broker.bootstrap, topics, env, n, workdir, args)
        if not args.skip_baselines:
            res["noop_fast"] = run_noop(broker.bootstrap, prefix, n, workdir, args, on_worker_consumer=True)
            progress("baseline B: confluent-kafka consume + decode + chDB insert")
            b = run_child("rawsink", {"tasks": n, "bootstrap": broker.bootstrap, "topic": topics.tasks,
                                      "chdb_dir": str(workdir / "chdb-raw"), "timeout": args.timeout}, workdir, args.timeout + 60)
            if not b.get("error"):
                b["rate"] = b["inserted"] / b["seconds_from_first"] if b["seconds_from_first"] else None
                progress(f"baseline B: {b['inserted']:,} rows in {b['seconds_from_first']:.2f} s = {b['rate']:,.0f}/s "
                         f"(decode+build {b['decode_build_seconds']:.2f} s, insert {b['insert_seconds']:.2f} s)")
            res["raw"] = b
    return res


def run_noop(bootstrap: str, prefix: str, n: int, workdir: Path, args: argparse.Namespace,
             on_worker_consumer: bool = False) -> dict[str, Any]:
    """Baseline A, faust's do-nothing agent; A' (`on_worker_consumer`) the same agent on the
    worker's faust consumer (`_fast_delivery.py`)."""
    name, suffix = ("baseline A'", "-fast") if on_worker_consumer else ("baseline A", "")
    result = workdir / f"noop{suffix}-result.json"
    cwd = workdir / f"noop{suffix}"
    cwd.mkdir()
    progress(f"{name}: faust do-nothing agent" + (" on the worker's faust consumer" if on_worker_consumer else ""))
    t_start = time.time()
    env = {**base_env(), "PHOSPHO_NOOP_CONSUMER": "worker" if on_worker_consumer else "faust"}
    proc = spawn([sys.executable, str(NOOP), bootstrap, prefix, f"noop-{uuid.uuid4().hex[:8]}", str(n), str(result)],
                 env, cwd, BENCH_DIR / f"pipeline-noop{suffix}.log")
    out: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + args.timeout
        while not result.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        time.sleep(0.2)
        try:
            out = json.loads(result.read_text())
        except (OSError, ValueError):
            return {"error": f"the do-nothing agent did not reach {n:,} events (exit {proc.poll()}); "
                             f"see .bench/pipeline-noop{suffix}.log"}
    finally:
        stop(proc)
    out["join_and_first_batch_s"] = out["first_batch_at"] - t_start
    secs = out["done_at"] - out["first_batch_at"]
    out["seconds"] = secs
    out["rate"] = (n - out["first_batch_events"]) / secs if secs > 0 else None
    progress(f"{name}: start -> first batch {out['join_and_first_batch_s']:.1f} s, then {n - out['first_batch_events']:,} "
             f"events in {secs:.2f} s = {_f(out['rate'], '{:,.0f}')}/s")
    return out


def run_worker_and_sink(bootstrap: str, topics: Any, env: dict[str, str], n: int, workdir: Path,
                        args: argparse.Namespace) -> dict[str, Any]:
    """The sink, then `phospho-stream worker`; if its agent crashes (or stalls for --stall s),
    the attempt is recorded with its error."""
    out: dict[str, Any] = {"attempts": []}
    chdb_dir = workdir / "chdb-sink"
    cwd = workdir / "worker"
    cwd.mkdir()
    row_topics = [topics.task_rows, topics.span_rows, topics.feedback_rows, topics.session_rows, topics.dead_letters]
    progress("throughput: starting the sink, then ONE worker")
    sink = spawn([cli(), "sink", "--dsn", f"chdb://{chdb_dir}"], env, cwd, BENCH_DIR / "pipeline-sink.log")
    attempts = [("phospho-stream worker", [cli(), "worker"])]
    try:
        time.sleep(args.sink_head_start)  # the sink joins its group before rows exist
        for label, cmd in attempts:
            log = BENCH_DIR / "pipeline-worker.log"
            res = _worker_attempt(label, cmd, bootstrap, topics, {**env, "PHOSPHO_APP_ID": f"bench-{uuid.uuid4().hex[:8]}"},
                                  n, cwd, log, args)
            out["attempts"].append(res)
            if not res.get("error"):
                break
            progress(f"worker ({label}): {res['error']}")
        ok = out["attempts"][-1]
        out.update({k: v for k, v in ok.items() if k != "error"})
        out["variant"] = ok["label"]
        if ok.get("error"):
            out["error"] = "; ".join(f"{a['label']}: {a['error']}" for a in out["attempts"])
            return out
        # end to end: the sink has written and committed everything the worker produced
        caught, lag = False, None
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            try:
                caught, lag = group_caught_up(bootstrap, "phospho-sink", row_topics)
            except Exception as exc:  # noqa: BLE001 - keep polling
                lag = repr(exc)
            if caught:
                break
            time.sleep(0.25)
        t_written = time.time()
        out["sink_caught_up"] = caught
        if caught:
            first_s = ok["first_ts_ms"] / 1000
            out["e2e_seconds"] = t_written - first_s
            out["e2e_rate"] = (n - ok["first_message_tasks"]) / out["e2e_seconds"]
            out["sink_behind_worker_s"] = t_written - ok["complete_ts_ms"] / 1000
            progress(f"sink: committed everything {out['sink_behind_worker_s']:.1f} s after the worker's last row: "
                     f"end to end {out['e2e_rate']:,.0f}/s")
        else:
            out["error"] = f"the sink did not catch up within {args.timeout:.0f} s (lag {lag})"
    finally:
        stop(sink)
    t0 = time.perf_counter()
    cnt = run_child("count", {"chdb_dir": str(chdb_dir)}, workdir, 300)
    out["written"] = cnt
    progress(f"sink store: phospho.tasks {cnt.get('tasks')} rows, {cnt.get('distinct_tasks')} distinct, "
             f"{cnt.get('sessions')} sessions ({time.perf_counter() - t0:.1f} s incl. opening chDB)")
    return out


def run_worker_alone(bootstrap: str, topics: Any, env: dict[str, str], n: int, workdir: Path,
                     args: argparse.Namespace) -> dict[str, Any]:
    """The worker again on the same input (a new group: from the beginning), with no sink on
    the same cores: the conditions of baseline A, and the figure the worker targets read."""
    progress("throughput: ONE worker alone (no sink running), a new consumer group")
    cwd = workdir / "worker-alone"
    cwd.mkdir()
    return _worker_attempt("phospho-stream worker", [cli(), "worker"], bootstrap, topics,
                           {**env, "PHOSPHO_APP_ID": f"bench-{uuid.uuid4().hex[:8]}"}, n, cwd,
                           BENCH_DIR / "pipeline-worker-alone.log", args)


def _worker_attempt(label: str, cmd: list[str], bootstrap: str, topics: Any, env: dict[str, str], n: int, cwd: Path,
                    log: Path, args: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {"label": label}
    t_start = time.time()
    watcher = RowWatcher(bootstrap, topics.task_rows, n, min_ts_ms=int(t_start * 1000))
    worker = spawn(cmd, env, cwd, log)
    watcher.cpu_pid = worker.pid
    watcher.start()
    progress(f"worker: {label} (pid {worker.pid})")
    try:
        deadline = time.monotonic() + args.timeout
        last, last_change = -1, time.monotonic()
        while watcher.complete_ts is None and time.monotonic() < deadline:
            if worker.poll() is not None:
                res["error"] = f"the worker exited with {worker.returncode}; see {log}"
                break
            text = log.read_text(errors="replace") if log.exists() else ""
            if "Traceback" in text:
                errs = re.findall(r"^\w[\w.]*(?:Error|Exception)\b.*$", text, re.M)
                res["error"] = f"the worker's agent crashed: {errs[-1][:400] if errs else 'Traceback'} (log {log})"
                break
            if len(watcher.ids) != last:
                last, last_change = len(watcher.ids), time.monotonic()
            elif time.monotonic() - last_change > args.stall:
                res["error"] = f"no new task row for {args.stall:.0f} s ({len(watcher.ids):,} of {n:,}); see {log}"
                break
            time.sleep(0.2)
        res["distinct_task_ids_seen"] = len(watcher.ids)
        res["row_messages"], res["task_rows_seen"] = watcher.messages, watcher.rows
        if "error" in res:
            return res
        if watcher.first is None or watcher.complete_ts is None:
            res["error"] = f"only {len(watcher.ids):,} of {n:,} tasks reached {topics.task_rows} within {args.timeout:.0f} s"
            return res
        first_ts, first_n = watcher.first
        if watcher.cpu_at_first is not None:
            res["cores"] = _cores_used(watcher.cpu_at_first, cpu_times(worker.pid))
        res.update(first_ts_ms=first_ts, complete_ts_ms=watcher.complete_ts, first_message_tasks=first_n,
                   join_and_first_batch_s=first_ts / 1000 - t_start, worker_seconds=(watcher.complete_ts - first_ts) / 1000)
        res["worker_rate"] = (n - first_n) / res["worker_seconds"] if res["worker_seconds"] > 0 else None
        progress(f"worker: start -> first row {res['join_and_first_batch_s']:.1f} s, then {n - first_n:,} tasks in "
                 f"{res['worker_seconds']:.2f} s = {_f(res['worker_rate'], '{:,.0f}')}/s")
        return res
    finally:
        watcher.stop_event.set()
        if "error" in res:
            try:
                res["log_tail"] = log.read_text(errors="replace")[-3000:]
            except OSError:
                pass
        res["sigterm_ignored"] = stop(worker)


# -- part 4: latency --------------------------------------------------------------------------

def post(up: dict[str, Any], sql: str, params: dict[str, Any] | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """One query through the running up's endpoint (`up` is its up.json: the URL and the token)."""
    req = urllib.request.Request(up["url"], data=json.dumps({"sql": sql, "params": params or {}}).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {up['token']}"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def run_latency(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    data = workdir / "up-data"
    data.mkdir()
    env = {**base_env(), "PHOSPHO_DATA_DIR": str(data), "PHOSPHO_PROJECT_ID": "bench-latency"}
    progress("latency: starting `phospho-stream up` (embedded broker)")
    up = spawn([cli(), "up"], env, workdir, BENCH_DIR / "pipeline-up.log")
    out: dict[str, Any] = {"rate": args.latency_rate, "seconds": args.latency_seconds, "poll_s": args.poll}
    try:
        info = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and up.poll() is None:
            try:
                info = json.loads((data / "up.json").read_text())
                if info.get("pid") == up.pid:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        if not info or up.poll() is not None:
            return {"error": f"`phospho-stream up` did not write up.json (exit {up.poll()}); see .bench/pipeline-up.log"}
        sdk_env = {**env, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": info["bootstrap"]}
        sql = ("SELECT input FROM phospho.tasks WHERE startsWith(input, {run:String}) "
               "AND created_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')")

        def measure(run: str, count: int, rate: float, wait_after: float) -> dict[str, Any]:
            seen: dict[str, float] = {}
            polls: list[float] = []
            errors: list[str] = []
            cfg = {"rate": rate, "count": count, "run": run + "-", "spool_dir": str(workdir / f"spool-{run}")}
            cfg_path = workdir / f"latency-{run}.json"
            cfg["result_path"] = str(cfg_path.with_suffix(".result.json"))
            cfg_path.write_text(json.dumps(cfg))
            since_ms = int(time.time() * 1000) - 60_000
            child = subprocess.Popen([sys.executable, str(CHILD), "latency", str(cfg_path)], env=sdk_env, cwd=str(workdir),
                                     stdout=sys.stderr, stderr=sys.stderr, stdin=subprocess.DEVNULL)
            PROCS.append(child)
            end_by = None
            while True:
                t0 = time.time()
                try:
                    rows = post(info, sql, {"run": run + "-", "since": since_ms})
                    now = time.time()
                    polls.append(now - t0)
                    if "error" in rows:
                        errors.append(rows["error"][:200])
                    for (marker,) in rows.get("rows", []):
                        seen.setdefault(marker, now)
                except Exception as exc:  # noqa: BLE001 - report, keep polling
                    errors.append(repr(exc)[:200])
                if child.poll() is not None and end_by is None:
                    end_by = time.time() + wait_after
                if len(seen) >= count or (end_by and time.time() > end_by):
                    break
                time.sleep(max(0.0, args.poll - (time.time() - t0)))
            try:
                child.wait(30)
                logged = json.loads(Path(cfg["result_path"]).read_text())
            except (OSError, ValueError, subprocess.TimeoutExpired):
                logged = {"logged": {}}
            lat = sorted(seen[m] - t for m, t in logged.get("logged", {}).items() if m in seen)
            return {"count": count, "visible": len(lat), "missing": count - len(lat), "latencies": lat,
                    "achieved_rate": logged.get("achieved_rate"), "flush_ok": logged.get("flush_ok"),
                    "poll_median_s": statistics.median(polls) if polls else None, "polls": len(polls),
                    "poll_errors": errors[:5], "poll_error_count": len(errors)}

        warm = measure(f"warm{uuid.uuid4().hex[:6]}", 20, 20.0, 120.0)
        out["warmup"] = {k: v for k, v in warm.items() if k != "latencies"}
        out["warmup"]["max"] = max(warm["latencies"], default=None)
        progress(f"latency: warm-up {warm['visible']}/20 visible (max {_f(max(warm['latencies'], default=None), '{:.1f}')} s, "
                 "includes the worker's group join)")
        m = int(args.latency_rate * args.latency_seconds)
        progress(f"latency: logging {m:,} tasks at {args.latency_rate:g}/s, polling every {args.poll:g} s")
        res = measure(f"lat{uuid.uuid4().hex[:6]}", m, args.latency_rate, 60.0)
        lat = res.pop("latencies")
        out.update(res)
        if lat:
            out.update(p50=pct(lat, 50), p95=pct(lat, 95), p99=pct(lat, 99), max=lat[-1], min=lat[0])
            progress(f"latency: {len(lat)}/{m} visible; p50 {out['p50']:.2f} s, p95 {out['p95']:.2f} s, max {out['max']:.2f} s")
        if res["missing"]:
            out["error"] = f"{res['missing']} of {m} tasks were not visible 60 s after the logger finished"
    finally:
        stop(up)
    return out


def pct(sorted_values: list[float], p: float) -> float:
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


# -- part 5: insights -------------------------------------------------------------------------

def run_insights(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    progress(f"insights: generating rows into a fresh chDB store at sizes {args.insight_sizes}")
    res = run_child("insights", {"sizes": args.insight_sizes, "chdb_dir": str(workdir / "chdb-insights"),
                                 "repo_src": str(REPO / "stream_processors"), "repeats": 3}, workdir, args.timeout * 4)
    shutil.rmtree(workdir / "chdb-insights", ignore_errors=True)
    return res


# -- report -----------------------------------------------------------------------------------

def _f(value: Any, fmt: str = "{:,.2f}", missing: str = "n/a") -> str:
    return missing if value is None else fmt.format(value)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def evaluate(report: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    thr = report.get("throughput") or {}
    w, a, b = thr.get("worker") or {}, thr.get("noop") or {}, thr.get("raw") or {}
    alone = thr.get("alone") or {}
    rate = alone.get("worker_rate")  # the worker in baseline A's conditions: no sink on the same cores
    ratios: dict[str, Any] = {}
    if rate and a.get("rate"):
        ratios["worker_vs_noop"] = rate / a["rate"]
    fast = thr.get("noop_fast") or {}
    if rate and fast.get("rate"):
        ratios["worker_vs_noop_on_the_worker_consumer"] = rate / fast["rate"]
    if w.get("worker_rate") and a.get("rate"):
        ratios["worker_with_sink_running_vs_noop"] = w["worker_rate"] / a["rate"]
    if rate and b.get("rate"):
        ratios["worker_vs_raw"] = rate / b["rate"]
    if w.get("e2e_rate") and b.get("rate"):
        ratios["e2e_vs_raw"] = w["e2e_rate"] / b["rate"]
    targets = []
    targets.append({"target": f"worker >= {TARGETS['worker_tps']:,.0f} tasks/s (input -> row topic, join excluded)",
                    "measured": _f(rate, "{:,.0f} tasks/s"), "ok": None if rate is None else rate >= TARGETS["worker_tps"]})
    r = ratios.get("worker_vs_noop")
    targets.append({"target": f"worker >= {TARGETS['worker_vs_noop']}x the do-nothing faust agent",
                    "measured": _f(r, "{:.2f}x"), "ok": None if r is None else r >= TARGETS["worker_vs_noop"]})
    lat = report.get("latency") or {}
    p95 = lat.get("p95")
    ok = None if p95 is None else (p95 < TARGETS["latency_p95_s"] and not lat.get("missing"))
    targets.append({"target": f"p95 log -> SQL < {TARGETS['latency_p95_s']:g} s (every task visible)",
                    "measured": _f(p95, "{:.2f} s") + (f", {lat['missing']} never visible" if lat.get("missing") else ""), "ok": ok})
    sizes = (report.get("insights") or {}).get("sizes") or []
    if sizes:
        big = sizes[-1]
        meds = [q["median"] for q in big["queries"]]
        worst = max((m for m in meds if m is not None), default=None)
        ok = None if worst is None else (all(m is not None for m in meds) and worst < TARGETS["insight_s"])
        label = f"{big['task_rows']:,} task rows"
        targets.append({"target": f"every insight query < {TARGETS['insight_s']:g} s over {label}"
                        + ("" if big["target_tasks"] >= 10_000_000 else " (target is at 10M: not measured)"),
                        "measured": f"slowest {_f(worst, '{:.2f} s')} ({sum(1 for m in meds if m is not None and m >= TARGETS['insight_s'])}"
                                    f" of {len(meds)} over)",
                        "ok": ok if big["target_tasks"] >= 10_000_000 else None})
    else:
        targets.append({"target": "insight queries over 10M tasks < 1 s", "measured": "not run", "ok": None})
    return ratios, targets


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    thr = report.get("throughput") or {}
    n = thr.get("tasks", 0)
    w, a, b = thr.get("worker") or {}, thr.get("noop") or {}, thr.get("raw") or {}
    alone, fast = thr.get("alone") or {}, thr.get("noop_fast") or {}

    def cores(x: dict[str, Any]) -> str:
        c = x.get("cores") or {}
        return f"; cores used: worker {c['worker']:.2f}, engine {c.get('engine', 0):.2f}" if "worker" in c else ""

    rows = [
        ["phospho worker alone: input -> rows topic", _f(alone.get("worker_rate"), "{:,.0f}"),
         _f(alone.get("worker_seconds"), "{:.2f} s"), _f(alone.get("join_and_first_batch_s"), "{:.1f} s"),
         f"{alone.get('distinct_task_ids_seen', 0):,} of {n:,} task ids on rows.tasks{cores(alone)}"],
        ["phospho worker, sink running: input -> rows topic", _f(w.get("worker_rate"), "{:,.0f}"),
         _f(w.get("worker_seconds"), "{:.2f} s"), _f(w.get("join_and_first_batch_s"), "{:.1f} s"),
         f"{w.get('distinct_task_ids_seen', 0):,} of {n:,} task ids on rows.tasks{cores(w)}"],
        ["phospho worker + sink: input -> chDB (committed)", _f(w.get("e2e_rate"), "{:,.0f}"),
         _f(w.get("e2e_seconds"), "{:.2f} s"), _f(w.get("join_and_first_batch_s"), "{:.1f} s"),
         f"{_f((w.get('written') or {}).get('tasks'), '{:,}')} in phospho.tasks "
         f"({_f((w.get('written') or {}).get('distinct_tasks'), '{:,}')} distinct)"],
        ["A: faust do-nothing agent (the worker's reading, 4,000-event batches)", _f(a.get("rate"), "{:,.0f}"), _f(a.get("seconds"), "{:.2f} s"),
         _f(a.get("join_and_first_batch_s"), "{:.1f} s"), f"{_f(a.get('count'), '{:,}')} events counted"],
        ["A': the same agent on the worker's faust consumer (no wait_first tasks)", _f(fast.get("rate"), "{:,.0f}"),
         _f(fast.get("seconds"), "{:.2f} s"), _f(fast.get("join_and_first_batch_s"), "{:.1f} s"),
         f"{_f(fast.get('count'), '{:,}')} events counted"],
        ["B: confluent-kafka + decode + chDB insert (10k batches)", _f(b.get("rate"), "{:,.0f}"),
         _f(b.get("seconds_from_first"), "{:.2f} s"), "none (assign)",
         f"{_f(b.get('rows'), '{:,}')} rows ({_f(b.get('distinct'), '{:,}')} distinct)"],
    ]
    return rows


def insight_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    sizes = (report.get("insights") or {}).get("sizes") or []
    head = ["insight query"] + [f"{s['task_rows']:,} tasks (s)" for s in sizes]
    rows = []
    if sizes:
        for i, q in enumerate(sizes[0]["queries"]):
            row = [q["title"]]
            for s in sizes:
                qq = s["queries"][i]
                row.append(_f(qq["median"], "{:.3f}") if not qq.get("error") else "error")
            rows.append(row)
    return head, rows


def md_table(head: list[str], rows: list[list[str]], right: int = 1) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


THR_HEAD = ["path", "tasks/s", "time (join excluded)", "start + join + 1st batch", "check"]


def format_console(report: dict[str, Any], ratios: dict[str, Any], targets: list[dict[str, Any]]) -> str:
    lines = [f"pipeline benchmark: {(report.get('throughput') or {}).get('tasks', 0):,} tasks, "
             f"{report['machine']['nproc']} CPUs, load {report['machine']['loadavg_at_start']}", ""]
    for table in ([THR_HEAD, table_rows(report)], list(insight_rows(report))):
        head, rows = table
        if not rows:
            continue
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
        lines.append("  ".join(h.ljust(wd) for h, wd in zip(head, widths, strict=True)))
        lines += ["  ".join(str(c).ljust(wd) for c, wd in zip(r, widths, strict=True)) for r in rows]
        lines.append("")
    lat = report.get("latency") or {}
    if lat:
        lines.append(f"log -> SQL latency: {lat.get('visible', 0):,}/{lat.get('count', 0):,} tasks at "
                     f"{_f(lat.get('achieved_rate'), '{:.0f}')}/s: p50 {_f(lat.get('p50'), '{:.2f} s')}, "
                     f"p95 {_f(lat.get('p95'), '{:.2f} s')}, p99 {_f(lat.get('p99'), '{:.2f} s')}, max {_f(lat.get('max'), '{:.2f} s')} "
                     f"(poll every {lat.get('poll_s')} s, median poll {_f(lat.get('poll_median_s'), '{:.3f} s')})")
    lines.append("ratios: " + (", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()) or "n/a"))
    lines.append("")
    for t in targets:
        lines.append(f"{verdict(t['ok']):4}  {t['target']}: {t['measured']}")
    for name, part in (("throughput", report.get("throughput")), ("worker", (report.get("throughput") or {}).get("worker")),
                       ("worker alone", (report.get("throughput") or {}).get("alone")),
                       ("baseline A", (report.get("throughput") or {}).get("noop")),
                       ("baseline A'", (report.get("throughput") or {}).get("noop_fast")),
                       ("baseline B", (report.get("throughput") or {}).get("raw")),
                       ("latency", report.get("latency")), ("insights", report.get("insights"))):
        if part and part.get("error"):
            lines.append(f"error ({name}): {part['error']}")
    return "\n".join(lines)


def format_markdown(report: dict[str, Any], ratios: dict[str, Any], targets: list[dict[str, Any]]) -> str:
    m = report["machine"]
    thr = report.get("throughput") or {}
    w, a, b = thr.get("worker") or {}, thr.get("noop") or {}, thr.get("raw") or {}
    lat = report.get("latency") or {}
    md = [START, "## Pipeline (`benchmarks/pipeline.py`)", "",
          f"Run {report['date']} on {m['nproc']} CPUs ({m['cpu']}, {m['mem_gb']} GB), {m['platform']} "
          f"(load average {m['loadavg_at_start'][0]} at start); Python {m['python']}. Command: `{report['command']}`.", ""]
    if thr:
        md += [f"Throughput, {thr.get('tasks', 0):,} pre-loaded task events, embedded broker (Tansu, 4 partitions), one process each:", ""]
        md += md_table(THR_HEAD, table_rows(report)) + [""]
        md.append("Ratios: " + (", ".join(f"{k.replace('_', ' ')} **{v:.2f}x**" for k, v in ratios.items()) or "n/a") + ".")
        md.append("")
    if lat:
        md.append(f"Latency log -> SQL (`phospho-stream up`, its query endpoint): {lat.get('visible', 0):,} of {lat.get('count', 0):,} "
                  f"tasks at {_f(lat.get('achieved_rate'), '{:.0f}')}/s: p50 **{_f(lat.get('p50'), '{:.2f} s')}**, p95 "
                  f"**{_f(lat.get('p95'), '{:.2f} s')}**, p99 {_f(lat.get('p99'), '{:.2f} s')}, max {_f(lat.get('max'), '{:.2f} s')}.")
        md.append("")
    head, rows = insight_rows(report)
    if rows:
        md += ["Insight queries (`phospho_stream.insights.INSIGHTS`, median of 3 runs, seconds), generated rows in chDB:", ""]
        md += md_table(head, rows) + [""]
    md += ["| target | measured | result |", "|---|---|---|"]
    md += [f"| {t['target']} | {t['measured']} | **{verdict(t['ok'])}** |" for t in targets]
    md += ["", "How it was measured:", ""]
    md.append(f"- Pre-load: `phospho.log` in a child process, {thr.get('tasks', 0):,} tasks (70 % with an app session_id among "
              "N/6 sessions, 30 % sessionized by user_id; N/40 users), flushed before anything consumes. Every consumer starts "
              "from the beginning of the same topic.")
    md.append("- Worker: `phospho-stream worker`, one worker (its faust process and its engine process), "
              f"`PHOSPHO_WORKER_PRODUCER_BATCH_BYTES={report['args']['producer_batch_bytes']}` "
              "as `up` sets it on the embedded broker (exact lag). Measured twice on the same input, each time as a new "
              "consumer group: first with `phospho-stream sink` running (own chDB dir), for the end to end figure, then alone, "
              "as baseline A runs; the targets read the run alone. Cores used: CPU time of the worker's processes from /proc "
              "between the first row and the last. Its rate is measured from the first "
              "`rows.tasks` message to the one completing N distinct task_ids, by their Kafka timestamps; the tasks of the "
              f"first message ({_f(w.get('first_message_tasks'), '{:,}')}) are not counted. Start-up + group join + first "
              f"batch took {_f(w.get('join_and_first_batch_s'), '{:.1f} s')} and is excluded. End to end: until the sink's "
              "committed offsets reach the end of every row topic (it commits after each chDB write), "
              f"{_f(w.get('sink_behind_worker_s'), '{:.1f} s')} after the worker's last task row. Then the sink was stopped and "
              f"`phospho.tasks` counted: {_f((w.get('written') or {}).get('tasks'), '{:,}')} rows, "
              f"{_f((w.get('written') or {}).get('sessions'), '{:,}')} session windows holding "
              f"{_f((w.get('written') or {}).get('tasks_in_sessions'), '{:,}')} tasks.")
    md.append("- A: `benchmarks/_pipeline_faust_noop.py`, the worker's faust App settings, the same three input topics and "
              "the worker's way of reading (events with manual acks, batches of 4,000 or 0.5 s, acknowledged after), "
              "counting only; rate from its first batch to event N (first batch not counted; "
              f"start + join + first batch {_f(a.get('join_and_first_batch_s'), '{:.1f} s')}). It runs right before the "
              "worker alone. The targets compare the worker with A: faust's own consumer, as the issue defines it.")
    md.append("- A': the same agent on the worker's faust consumer (`phospho_stream/_fast_delivery.py`: faust's fetch loop "
              "without mode's `wait_first`, four asyncio tasks per message), run right after the worker alone: the worker "
              "against the per-message floor it actually has. Reported, not a target.")
    md.append("- B: one process, confluent-kafka `consume(5000)` with partitions assigned (no group), "
              "`EventDecoder.decode`, a 10-column row per task, `store.insert_json_rows` every 10,000 rows into a scratch "
              f"MergeTree table; decode + row building {_f(b.get('decode_build_seconds'), '{:.2f} s')}, chDB inserts "
              f"{_f(b.get('insert_seconds'), '{:.2f} s')}.")
    if lat:
        md.append(f"- Latency: after a warm-up of 20 tasks (all visible within {_f((lat.get('warmup') or {}).get('max'), '{:.1f}')} s, "
                  "the worker's group join included), "
                  f"{lat.get('count', 0):,} tasks logged at {lat.get('rate')}/s for {lat.get('seconds')} s, each with a unique "
                  "input; latency = arrival of the first endpoint response listing the task - time.time() just before its "
                  f"`phospho.log` call. Polled every {lat.get('poll_s')} s (median response {_f(lat.get('poll_median_s'), '{:.3f} s')}), "
                  "so up to one poll interval is included.")
    sizes = (report.get("insights") or {}).get("sizes") or []
    if sizes:
        md.append("- Insights: `INSERT ... SELECT FROM numbers()` into `phospho.task_rows`, `session_windows`, `feedback_rows` "
                  "(sessions of 1-9 tasks, mean 5; 1 user per 10 sessions; 10 % of tasks with feedback, 1 % with an error): "
                  + "; ".join(f"{x['task_rows']:,} tasks, {x['session_windows']:,} windows, {x['feedback_rows']:,} feedback "
                              f"generated in {x['generate_seconds']:.0f} s" for x in sizes)
                  + ". Queries run through the views (FINAL inside), background merges not forced.")
    for line in report.get("observed", []):
        md.append(f"- **Observed:** {line}")
    md += ["", "Raw results: `.bench/pipeline.json` (not committed).", END]
    return "\n".join(md) + "\n"


def write_markdown(section: str) -> None:
    rewrite_section(BENCHMARKS_MD, START, END, section)


# -- main ---------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=None, help="pre-loaded task events for parts 1-3 (default 100000; --quick 5000)")
    p.add_argument("--latency-rate", type=float, default=200.0, help="tasks/s logged during the latency run")
    p.add_argument("--latency-seconds", type=float, default=None, help="seconds of the latency run (default 15; --quick 5)")
    p.add_argument("--poll", type=float, default=0.1, help="seconds between latency polls")
    p.add_argument("--insight-sizes", default=None,
                   help="comma-separated task counts for the insight queries (default 1000000,10000000; --quick 100000,300000)")
    p.add_argument("--producer-batch-bytes", type=int, default=1,
                   help="PHOSPHO_WORKER_PRODUCER_BATCH_BYTES for the worker (1: what `up` sets on the embedded broker)")
    p.add_argument("--stall", type=float, default=60.0, help="seconds without a new task row before a worker attempt is given up")
    p.add_argument("--sink-head-start", type=float, default=3.0, help="seconds the sink runs before the worker starts")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-baselines", action="store_true", help="no baseline A / B")
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-insights", action="store_true")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--timeout", type=float, default=None, help="seconds before a part is declared stuck (default from the sizes)")
    p.add_argument("--write-md", action="store_true", help="rewrite BENCHMARKS.md even for a --quick run")
    p.add_argument("--no-md", action="store_true")
    p.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    args = p.parse_args(argv)
    args.tasks = args.tasks or (5_000 if args.quick else 100_000)
    args.latency_seconds = args.latency_seconds or (5.0 if args.quick else 15.0)
    sizes = args.insight_sizes or ("100000,300000" if args.quick else "1000000,10000000")
    args.insight_sizes = sorted(int(float(x)) for x in sizes.split(","))
    args.timeout = args.timeout or 180.0 + args.tasks / 500
    return args


def observations(report: dict[str, Any]) -> list[str]:
    out = []
    thr = report.get("throughput") or {}
    w = thr.get("worker") or {}
    n = thr.get("tasks")
    written = (w.get("written") or {})
    if written.get("tasks") is not None and n and written["tasks"] != n:
        out.append(f"phospho.tasks holds {written['tasks']:,} rows for {n:,} tasks logged.")
    if w.get("task_rows_seen") and n and w["task_rows_seen"] > n:
        out.append(f"the worker wrote {w['task_rows_seen']:,} task rows for {n:,} distinct tasks "
                   f"({w['task_rows_seen'] - n:,} re-writes: task rows are re-sent when a task's session window changes, "
                   "or re-delivered).")
    for a in w.get("attempts", []):
        if a.get("sigterm_ignored"):
            out.append(f"`{a['label']}` did not exit within 30 s of SIGTERM{' after its agent crashed' if a.get('error') else ''}; "
                       "it was SIGKILLed.")
    if len(w.get("attempts", [])) == 1 and w["attempts"][0].get("error"):
        out.append(f"`{w['attempts'][0]['label']}` failed: {w['attempts'][0]['error']}")
    pre = thr.get("preload") or {}
    if (pre.get("stats") or {}).get("spooled"):
        out.append(f"the pre-load spooled {pre['stats']['spooled']:,} events (SDK buffer full), all delivered before consumption.")
    lat = report.get("latency") or {}
    if lat.get("poll_error_count"):
        out.append(f"{lat['poll_error_count']} latency polls failed, e.g. `{lat['poll_errors'][0]}`.")
    for s in (report.get("insights") or {}).get("sizes") or []:
        for q in s["queries"]:
            if q.get("error"):
                out.append(f"insight query '{q['title']}' failed at {s['task_rows']:,} tasks: `{q['error']}`")
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_project_python()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("pipeline-noop.log", "pipeline-noop-fast.log", "pipeline-worker.log", "pipeline-worker-alone.log", "pipeline-sink.log", "pipeline-up.log"):
        (BENCH_DIR / name).unlink(missing_ok=True)
    report: dict[str, Any] = {
        "benchmark": "pipeline", "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "command": ("python benchmarks/pipeline.py " + " ".join(sys.argv[1:] if argv is None else argv)).strip(),
        "quick": args.quick, "machine": machine_info(), "args": vars(args), "targets": TARGETS,
    }
    progress(f"pipeline: tasks={args.tasks:,}, latency {args.latency_rate:g}/s x {args.latency_seconds:g} s, "
             f"insights at {args.insight_sizes} on {report['machine']['nproc']} CPUs")
    failed_part = False
    with tempfile.TemporaryDirectory(prefix="phospho-bench-pipeline-") as tmp:
        workdir = Path(tmp)
        try:
            for name, skip, fn in (("throughput", args.skip_throughput, run_throughput),
                                   ("latency", args.skip_latency, run_latency),
                                   ("insights", args.skip_insights, run_insights)):
                if skip:
                    continue
                t0 = time.monotonic()
                report[f"loadavg_before_{name}"] = [round(x, 2) for x in os.getloadavg()]
                try:
                    report[name] = fn(args, workdir)
                except Exception as exc:  # noqa: BLE001 - report the part as failed, run the others
                    import traceback

                    traceback.print_exc()
                    report[name] = {"error": f"could not run: {exc!r}"}
                report[name]["part_seconds"] = time.monotonic() - t0
                if report[name].get("error"):
                    failed_part = True
                    progress(f"{name}: {report[name]['error']}")
        finally:
            for proc in PROCS:
                stop(proc, timeout=10)
    report["observed"] = observations(report)
    ratios, targets = evaluate(report)
    report["ratios"], report["target_results"] = ratios, targets
    print(format_console(report, ratios, targets))
    for line in report["observed"]:
        print(f"observed: {line}")
    skip_md = args.no_md or (args.quick and not args.write_md)
    # pipeline.json always matches the BENCHMARKS.md section: runs that leave it alone write elsewhere
    out_json = RESULTS_JSON if not skip_md else RESULTS_JSON.with_name("pipeline-quick.json" if args.quick else "pipeline-no-md.json")
    out_json.write_text(json.dumps(report, indent=1, default=str))
    progress(f"results: {out_json}")
    if skip_md:
        progress("BENCHMARKS.md left as it is (" + ("--no-md" if args.no_md else "--quick run; pass --write-md to write it") + ")")
    else:
        write_markdown(format_markdown(report, ratios, targets))
        progress(f"rewrote the pipeline section of {BENCHMARKS_MD}")
    if failed_part:
        return 2
    if args.check and any(t["ok"] is False for t in targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
