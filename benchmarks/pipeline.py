#!/usr/bin/env python3
"""Pipeline benchmark: `phospho.log` -> Kafka -> core worker -> row topics -> sink -> chDB, and the
analytics stage, against baselines measured in the same run.

    .venv/bin/python benchmarks/pipeline.py            # full run (100k tasks, 200/s x 15 s, 1M and 10M rows)
    .venv/bin/python benchmarks/pipeline.py --quick    # smoke run, small sizes, BENCHMARKS.md left alone
    .venv/bin/python benchmarks/pipeline.py --old-worker-cmd "/tmp/old/.venv/bin/phospho-stream worker" \
        --sdk-python /tmp/old/.venv/bin/python     # the pre-loaded tasks logged by the old SDK, for both workers

Every part runs on a fresh embedded broker (Tansu, 4 partitions). A `live` part runs one
`phospho-stream worker` process (and, when asked, one `worker --stage analytics` at a lower
priority) and the sink (`phospho_sinks.SinkRunner` in a thread of this process, on its chDB
store); an SDK child (`_pipeline_sdk.py`) logs a warm-up, waits until it is visible in SQL (the
workers have joined their groups), then logs the measured traffic:
1. end to end: N tasks as fast as one thread logs them; rate = N / (first log -> the moment
   `SELECT count() FROM phospho.tasks` says they are all there);
2. the same with the analytics worker running (nice +10), and when the analytics caught up;
3. latency: a steady rate, a marker in each input, `phospho.tasks` polled every 50 ms.
Then, on N pre-loaded tasks (logged and flushed before anything reads them):
4. baseline B (`_pipeline_raw.py`): confluent-kafka + EventDecoder + the core's task row +
   chDB insert, 10k rows per INSERT, one process;
5. baseline A (`_pipeline_noop.py`): the worker's faust app and `take_events` batching, doing
   nothing; then the core worker alone, then (--old-worker-cmd) an older worker command, each
   timed from its first row message to the Nth task on rows.tasks (Kafka timestamps);
6. the analytics worker alone on the analysis records the core worker wrote;
7. insight queries over 1M and 10M generated tasks (`_pipeline_insights.py`).
Prints a table and rewrites the <!-- pipeline:start/end --> section of BENCHMARKS.md (not with
--quick). Progress goes to stderr; raw results to .bench/pipeline.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import REPO, ensure_project_python, machine_info, progress
from _markdown import rewrite_section

BENCHMARKS_MD = REPO / "BENCHMARKS.md"

PARTS = ("latency", "e2e", "e2e_analytics", "preloaded", "insights")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=None, help="N, tasks of the throughput parts (default 100000; --quick 5000)")
    p.add_argument("--latency-rate", type=float, default=200.0, help="tasks/s of the latency run")
    p.add_argument("--latency-seconds", type=float, default=None, help="seconds of the latency run (default 15; --quick 5)")
    p.add_argument("--poll", type=float, default=0.05, help="seconds between latency polls")
    p.add_argument("--insight-sizes", default=None, help="task counts, comma-separated (default 1e6,1e7; --quick 1e5,3e5)")
    p.add_argument("--old-worker-cmd", default=None, help="an older worker command to run on the pre-loaded tasks too "
                   "(it reads the same PHOSPHO_* environment), e.g. '<old worktree>/.venv/bin/phospho-stream worker'")
    p.add_argument("--sdk-python", default=None, metavar="PATH", help="the interpreter whose phospho logs the "
                   "pre-loaded tasks (with --old-worker-cmd: the old checkout's .venv/bin/python, since an older "
                   "worker cannot decode a newer SDK's events, and today's worker decodes every earlier version)")
    p.add_argument("--analysis-yield-lag", type=int, default=None,
                   help="PHOSPHO_ANALYSIS_YIELD_LAG of the analytics worker (default: the one up gives it)")
    p.add_argument("--analytics-nice", type=int, default=10, help="niceness of the analytics worker beside the core")
    p.add_argument("--py-spy", default=None, metavar="PATH", help="py-spy's executable: profile every worker run "
                   "(.bench/pipeline-<part>.pyspy.txt; the figures of such a run are not comparable)")
    p.add_argument("--repeats", type=int, default=None, help="runs of each throughput figure, alternating; the median "
                   "is reported (default 2; --quick 1)")
    p.add_argument("--skip", default="", help=f"comma-separated parts to skip: {', '.join(PARTS)}")
    p.add_argument("--quick", action="store_true", help="small sizes; BENCHMARKS.md left alone")
    args = p.parse_args(argv)
    args.tasks = args.tasks or (5_000 if args.quick else 100_000)
    args.repeats = args.repeats or (1 if args.quick else 2)
    args.latency_seconds = args.latency_seconds or (5.0 if args.quick else 15.0)
    sizes = args.insight_sizes or ("1e5,3e5" if args.quick else "1e6,1e7")
    args.insight_sizes = sorted(int(float(x)) for x in sizes.split(","))
    if args.py_spy:
        args.py_spy = shutil.which(args.py_spy) or p.error(f"--py-spy: no executable {args.py_spy}")
        args.py_spy = str(Path(args.py_spy).resolve())
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.skip - set(PARTS):
        p.error(f"--skip: unknown part(s) {', '.join(sorted(args.skip - set(PARTS)))}")
    return args


def run_insights(bench: Any) -> dict[str, Any]:
    from _pipeline_bench import BENCH_DIR, HERE

    out, path = bench.workdir / "insights.json", bench.workdir / "insights.config.json"
    path.write_text(json.dumps({"chdb_dir": str(bench.workdir / "insights-chdb"), "sizes": bench.args.insight_sizes,
                                "repeats": 3, "inputs": bench.texts["inputs"], "answers": bench.texts["answers"],
                                "result_path": str(out)}))
    proc = bench.spawn("insights", [sys.executable, str(HERE / "_pipeline_insights.py"), str(path)],
                       {**os.environ, "PYTHONUNBUFFERED": "1"})
    if proc.wait(3600) != 0:
        raise RuntimeError(f"the insights child exited with {proc.returncode}; see {BENCH_DIR}/pipeline-insights.log")
    return json.loads(out.read_text())


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure from its repeated runs: the median rate, every rate, and the other figures of
    the run closest to the median. Runs that failed are listed, not counted."""
    good = [r for r in runs if r.get("rate")]
    errors = [r["error"] for r in runs if r.get("error")]
    if not good:
        return {"error": "; ".join(errors) or "no run measured a rate", "runs": len(runs)}
    median = statistics.median(r["rate"] for r in good)
    closest = min(good, key=lambda r: abs(r["rate"] - median))
    return {**closest, "rate": median, "rates": [r["rate"] for r in good], "errors": errors}


def combine_preloaded(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = {k for r in runs for k, v in r.items() if isinstance(v, dict) and "rate" in v}
    out: dict[str, Any] = {k: v for k, v in runs[0].items() if k not in keys} if runs else {}
    out.update({k: combine([r[k] for r in runs if k in r]) for k in sorted(keys)})
    if all(r.get("error") for r in runs):
        out["error"] = "; ".join(r["error"] for r in runs)
    return out


def run_parts(args: argparse.Namespace, report: dict[str, Any]) -> bool:
    """Every part not skipped into `report`; the throughput parts --repeats times, alternating
    (this machine's speed drifts within minutes); False when a run failed (the others go on)."""
    from _pipeline_bench import open_bench
    from _pipeline_live import run_live
    from _pipeline_loaded import run_preloaded

    ok, runs = True, {name: [] for name in PARTS}
    with tempfile.TemporaryDirectory(prefix="phospho-bench-pipeline-") as tmp, open_bench(args, Path(tmp)) as bench:
        parts = {"latency": lambda: run_live(bench, "latency", "steady"), "e2e": lambda: run_live(bench, "e2e", "burst"),
                 "e2e_analytics": lambda: run_live(bench, "e2e-analytics", "burst", analytics=True),
                 "preloaded": lambda: run_preloaded(bench), "insights": lambda: run_insights(bench)}
        schedule = ["latency", *["e2e", "e2e_analytics"] * args.repeats, *["preloaded"] * args.repeats, "insights"]
        for name in schedule:
            if name in args.skip:
                continue
            load = os.getloadavg()[0]
            progress(f"part {name}, run {len(runs[name]) + 1} (load average {load:.2f})")
            t0 = time.monotonic()
            try:
                result = parts[name]()
            except Exception as exc:  # noqa: BLE001 - report the run as failed, run the others
                result = {"error": f"{type(exc).__name__}: {exc}"}
                ok = False
                progress(f"part {name} failed: {result['error']}")
            finally:
                bench.children.stop_all()
            runs[name].append({**result, "part_seconds": time.monotonic() - t0, "loadavg_before": load})
    for name, results in runs.items():
        if not results:
            continue
        if name in ("e2e", "e2e_analytics"):
            report[name] = combine(results)
        elif name == "preloaded":
            report[name] = combine_preloaded(results)
        else:
            report[name] = results[0]
        report[name]["loadavg"] = [r["loadavg_before"] for r in results]
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_project_python()
    from _pipeline_bench import BENCH_DIR
    from _pipeline_report import END, START, evaluate, show, to_markdown

    from phospho_stream.settings import UpSettings

    if args.analysis_yield_lag is None:
        args.analysis_yield_lag = UpSettings.model_fields["analysis_yield_lag"].default

    BENCH_DIR.mkdir(exist_ok=True)
    for old in BENCH_DIR.glob("pipeline-*.log"):
        old.unlink()
    report: dict[str, Any] = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine_info(),
                              "command": shlex.join(["python", "benchmarks/pipeline.py", *(sys.argv[1:] if argv is None else argv)]),
                              "args": {k: sorted(v) if isinstance(v, set) else v for k, v in vars(args).items()}}
    progress(f"pipeline: N={args.tasks:,}, load average {report['machine']['loadavg_at_start']}")
    ok = run_parts(args, report)
    report["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = evaluate(report)
    show(report)
    out = BENCH_DIR / ("pipeline-quick.json" if args.quick else "pipeline.json")
    out.write_text(json.dumps(report, indent=1, default=str))
    progress(f"results: {out}")
    if not args.quick:
        rewrite_section(BENCHMARKS_MD, START, END, to_markdown(report))
        progress(f"rewrote the pipeline section of {BENCHMARKS_MD}")
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
