"""The live parts of benchmarks/pipeline.py: SDK -> broker -> worker(s) -> sink -> chDB while the
SDK logs, for throughput ("burst") and latency ("steady")."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from _harness import pct
from _pipeline_bench import (
    WARMUP,
    Bench,
    Sink,
    broker_pid,
    count,
    fresh_broker,
    sdk_phase,
    start_sdk,
    wait_for,
)
from _pipeline_rows import RowClock, read_topic
from _procs import CpuSampler, cpu_seconds, thread_cpu_seconds

from phospho_schemas import EventDecoder, Topics

__all__ = ["run_live"]


@dataclass
class Live:
    """One live part while it runs."""

    bench: Bench
    bootstrap: str
    topics: Topics
    sdk: Any
    cfg: dict[str, Any]
    workers: list[Any]
    sampler: CpuSampler


def run_live(bench: Bench, label: str, mode: str, analytics: bool = False) -> dict[str, Any]:
    """A fresh broker, the core worker (and the analytics worker, niced), the sink, and an SDK
    child that logs a warm-up, then (once SQL shows it) the measured traffic of `mode`."""
    args = bench.args
    prefix, app_id = f"b{uuid.uuid4().hex[:6]}.", f"bench-{label}-{uuid.uuid4().hex[:6]}"
    with fresh_broker(prefix) as broker:
        env, started = bench.env(broker.bootstrap, prefix, app_id), time.time()
        workers = [bench.spawn(f"{label}-worker", [bench.cli(), "worker"], env)]
        if analytics:
            analytics_env = {**env, "PHOSPHO_ANALYSIS_YIELD_LAG": str(args.analysis_yield_lag)}  # as up sets it
            workers.append(bench.spawn(f"{label}-analytics", [bench.cli(), "worker", "--stage", "analytics", "--config",
                                                              str(bench.config_path)], analytics_env,
                                       nice=args.analytics_nice))
        spies = [bench.profile(proc, f"{label}-{i}") for i, proc in enumerate(workers)]
        try:
            with Sink(bench, broker.bootstrap, prefix) as sink:
                traffic = {"rate": args.latency_rate, "seconds": args.latency_seconds} if mode == "steady" else {"tasks": args.tasks}
                sdk, cfg = start_sdk(bench, broker.bootstrap, prefix, mode, warmup=WARMUP,
                                     go_path=str(bench.workdir / f"go-{label}"), **traffic)
                sdk_phase(sdk, cfg, "ready", 120)
                warm = "SELECT count() FROM phospho.tasks WHERE startsWith(input, {p:String})"
                wait_for("warm-up visible in SQL", lambda: count(bench.store, warm, p=f"{cfg['run']}-warmup-") >= WARMUP,
                         bench.timeout(), every=0.2, procs=tuple(workers))
                joined = time.time() - started
                counters = {"SDK child (phospho.log)": lambda: cpu_seconds(sdk.pid, tree=False),
                            "core worker": lambda: cpu_seconds(workers[0].pid),
                            "Tansu broker": lambda pid=broker_pid(broker.bootstrap): cpu_seconds(pid, tree=False) if pid else 0.0,
                            "harness: sink thread (SinkRunner, chDB inserts)": lambda: thread_cpu_seconds(sink.native_id),
                            "harness: whole process (sink, chDB merges, polling)": lambda: cpu_seconds(os.getpid(), tree=False)}
                if analytics:
                    counters[f"analytics worker (nice +{args.analytics_nice})"] = lambda: cpu_seconds(workers[1].pid)
                live = Live(bench, broker.bootstrap, Topics(prefix), sdk, cfg, workers, CpuSampler(counters))
                live.sampler.start()
                try:
                    res = measure_steady(live) if mode == "steady" else measure_burst(live)
                finally:
                    live.sampler.stop()
                res["start_and_join_s"] = joined
        finally:
            for proc in workers:
                bench.children.stop(proc)
            for spy in filter(None, spies):
                spy.wait(30)
    return res


def measure_burst(live: Live) -> dict[str, Any]:
    """N tasks from the first log to all of them counted in phospho.tasks; when the worker had
    produced their rows; when every task was in a session window; with an analytics worker,
    when every task was analysed."""
    bench, n, store = live.bench, live.bench.args.tasks, live.bench.store
    clock = RowClock(live.bootstrap, live.topics.rows("tasks"), b'"event_id"', WARMUP + n, 0)
    clock.start()
    Path(live.cfg["go_path"]).touch()
    visible_at = wait_for("all tasks visible in SQL", lambda: all_visible(store, WARMUP + n), bench.timeout(),
                          every=0.05, procs=tuple(live.workers))
    logged = sdk_phase(live.sdk, live.cfg, "done", 60)
    first = logged["first_log"]
    res = {"tasks": n, "seconds": visible_at - first, "rate": n / (visible_at - first), "log_seconds": logged["log_seconds"],
           "sdk_counts": logged["counts"], "sdk_stats": logged["stats"], "cpu": live.sampler.between(first, visible_at)}
    clock.stop()
    res["worker_rows_done_s"] = clock.done_ms / 1000 - first if clock.done_ms else None
    in_sessions = "SELECT sum(task_count) FROM phospho.sessions"
    wait_for("every task in a session window", lambda: count(store, in_sessions) >= WARMUP + n, 60, every=0.2)
    res["sessions_complete_s"] = time.time() - first
    if len(live.workers) > 1:
        analysed = "SELECT countIf(analyzed) FROM phospho.tasks"
        wait_for("analytics caught up", lambda: count(store, analysed) >= WARMUP + n, 600, every=0.5,
                 procs=tuple(live.workers))
        res["analytics_caught_up_s"] = time.time() - first
    return res


def all_visible(store: Any, total: int) -> float | None:
    """The time `SELECT count() FROM phospho.tasks` said `total` (a cheap count of the core's raw
    rows gates it, so the view's FINAL query is not run many times for nothing)."""
    if count(store, "SELECT count() FROM phospho_store.tasks WHERE isNotNull(event_id)") < total:
        return None
    return time.time() if count(store, "SELECT count() FROM phospho.tasks") >= total else None


def measure_steady(live: Live) -> dict[str, Any]:
    """When each marker of the steady run first came back from phospho.tasks, polled every --poll s."""
    args, store, run = live.bench.args, live.bench.store, live.cfg["run"]
    expected = int(args.latency_rate * args.latency_seconds)
    seen: dict[str, float] = {}
    polls: list[float] = []
    Path(live.cfg["go_path"]).touch()
    deadline = time.time() + args.latency_seconds + 60
    while len(seen) < expected and time.time() < deadline:
        t = time.perf_counter()
        rows = store.query("SELECT splitByChar(' ', input)[1] FROM phospho.tasks WHERE startsWith(input, {p:String})",
                           {"p": f"{run}-0"}).rows
        now = time.time()
        polls.append(time.perf_counter() - t)
        for (marker,) in rows:
            seen.setdefault(marker, now)
        if any(p.poll() is not None for p in live.workers):
            raise RuntimeError("a worker exited during the latency run")
        time.sleep(max(0.0, args.poll - (time.perf_counter() - t)))
    logged = sdk_phase(live.sdk, live.cfg, "done", 60)["log_times"]
    lat = sorted(seen[m] - t for m, t in logged.items() if m in seen)
    span = max(logged.values()) - min(logged.values())
    res: dict[str, Any] = {"count": len(logged), "visible": len(lat), "achieved_rate": len(logged) / span if span else None,
                           "poll_median_s": statistics.median(polls) if polls else None}
    if lat:
        res.update(p50=pct(lat, 50), p95=pct(lat, 95), p99=pct(lat, 99), max=lat[-1])
    res["stages"] = latency_stages(live, logged, seen)
    return res


def latency_stages(live: Live, logged: dict[str, float], seen: dict[str, float]) -> dict[str, dict[str, float]]:
    """Where each task's latency went (median, p95 in seconds): log -> its event in Kafka (SDK),
    -> its task row in Kafka (worker), -> in a poll's answer (sink, chDB, the poll). Read after the
    run; Kafka timestamps are the producers' clocks, this machine's. (chDB's written_at cannot
    split the last stage: partial rows merge into one that keeps the latest write.)"""
    decode = EventDecoder(timestamps_as_ms=True).decode
    marker = lambda text: (text or "").split(" ", 1)[0]  # noqa: E731
    event_at = {marker(decode(v, expected_kind="task")[1]["input"]): ts / 1000
                for ts, v in read_topic(live.bootstrap, live.topics.tasks)}
    row_at: dict[str, float] = {}
    for ts, value in read_topic(live.bootstrap, live.topics.rows("tasks")):
        for line in value.split(b"\n"):
            if b'"event_id"' in line:
                row_at.setdefault(marker(orjson.loads(line).get("input")), ts / 1000)
    stages = {"SDK: log -> event in Kafka": (logged, event_at), "worker: event -> task row in Kafka": (event_at, row_at),
              "sink + SQL: task row -> seen by a poll": (row_at, seen)}
    out = {}
    for name, (before, after) in stages.items():
        spans = sorted(after[m] - before[m] for m in logged if m in before and m in after)
        if spans:
            out[name] = {"p50": pct(spans, 50), "p95": pct(spans, 95)}
    return out
