"""The core stage alone, fast to repeat: pipeline.py's pre-loaded input (its SDK child, N tasks
logged and flushed on a fresh embedded broker), then, alternating --repeats times, baseline A
(the worker's faust app doing nothing), E (the core engine without faust) and the core worker
alone, each as pipeline.py measures them. Nothing is written to BENCHMARKS.md.

    .venv/bin/python benchmarks/core_stage.py                  # 100k tasks, 2 runs of each
    .venv/bin/python benchmarks/core_stage.py --profile        # E once under cProfile, top 40 printed
    .venv/bin/python benchmarks/core_stage.py --only engine --tasks 30000
    .venv/bin/python benchmarks/core_stage.py --only worker,old --sdk-python /tmp/old/.venv/bin/python \
        --old-worker-cmd "/tmp/old/.venv/bin/phospho-stream worker"   # same input for both workers

Raw results: .bench/core-stage.json; the profile: .bench/core-stage.prof.
"""

from __future__ import annotations

import argparse
import json
import pstats
import shlex
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from _harness import ensure_project_python, machine_info, progress

PATHS = ("noop", "engine", "worker", "old")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--only", default=",".join(PATHS), help=f"comma-separated paths among {', '.join(PATHS)}")
    p.add_argument("--old-worker-cmd", default=None, help="path `old`: an older worker command on the same input, "
                   "e.g. 'env PYTHONPATH=<old checkout's package dirs> .venv/bin/phospho-stream worker'")
    p.add_argument("--sdk-python", default=None, metavar="PATH", help="the interpreter that logs the input, e.g. the "
                   "old checkout's .venv/bin/python: an older worker cannot decode a newer SDK's events (their writer "
                   "schema is unknown to it), while today's worker decodes every earlier version")
    p.add_argument("--profile", action="store_true", help="run E once under a profiler instead of the timed runs "
                   "(cProfile, or py-spy with --py-spy)")
    p.add_argument("--py-spy", default=None, metavar="PATH", help="py-spy's executable: profile the worker runs "
                   "(.bench/pipeline-<label>.pyspy.txt), or E with --profile")
    args = p.parse_args()
    args.only = [s for s in args.only.split(",") if s]
    args.py_spy = args.py_spy and str(Path(args.py_spy).resolve())
    if set(args.only) - set(PATHS):
        p.error(f"--only: unknown path(s) {set(args.only) - set(PATHS)}")
    if "old" in args.only and not args.old_worker_cmd:
        p.error("--only old needs --old-worker-cmd")
    return args


def profile_engine(bench: Any, bootstrap: str, prefix: str) -> None:
    from _pipeline_bench import BENCH_DIR, HERE

    prof, out = BENCH_DIR / "core-stage.prof", bench.workdir / "engine-profiled.json"
    profiler = [] if bench.args.py_spy else ["-m", "cProfile", "-o", str(prof)]
    cmd = [sys.executable, *profiler, str(HERE / "_pipeline_engine.py"), "core", str(bench.args.tasks), str(out)]
    proc = bench.spawn("engine-profiled", cmd, bench.env(bootstrap, prefix, f"bench-engine-{uuid.uuid4().hex[:6]}"))
    spy = bench.profile(proc, "engine")
    if proc.wait(bench.timeout()) != 0:
        raise SystemExit(f"the profiled engine exited with {proc.returncode}; see .bench/pipeline-engine-profiled.log")
    progress(f"profiled E: {json.loads(out.read_text())}")
    if spy is not None:
        spy.wait(30)
        progress(f"py-spy's samples: {BENCH_DIR / 'pipeline-engine.pyspy.txt'}")
        return
    pstats.Stats(str(prof)).sort_stats("tottime").print_stats(40)
    pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(40)


def main() -> int:
    args = parse_args()
    ensure_project_python()
    from _pipeline_bench import BENCH_DIR, fresh_broker, open_bench, sdk_phase, start_sdk
    from _pipeline_loaded import copy_events, run_engine, run_noop, run_worker

    from phospho_schemas import Topics

    BENCH_DIR.mkdir(exist_ok=True)
    bench_args = argparse.Namespace(tasks=args.tasks, py_spy=args.py_spy)
    runs: dict[str, list[dict[str, Any]]] = {p: [] for p in args.only}
    n, prefix = args.tasks, f"p{uuid.uuid4().hex[:6]}."
    with tempfile.TemporaryDirectory(prefix="phospho-bench-core-") as tmp, open_bench(bench_args, Path(tmp)) as bench, \
            fresh_broker(prefix) as broker:
        progress(f"logging {n:,} tasks with the SDK (load average {machine_info()['loadavg_at_start']})")
        sdk, cfg = start_sdk(bench, broker.bootstrap, prefix, "burst", python=args.sdk_python, tasks=n)
        loaded = sdk_phase(sdk, cfg, "done", bench.timeout() * 2)
        events = sum(loaded["counts"].values())
        if args.profile:
            copy = f"q{uuid.uuid4().hex[:6]}."
            broker.create_topics(Topics(copy).all())
            copy_events(broker.bootstrap, Topics(prefix), Topics(copy), events)
            profile_engine(bench, broker.bootstrap, copy)
            return 0
        for i in range(args.repeats):
            for path in args.only:
                progress(f"run {i + 1}: {path}")
                if path == "noop":
                    result = run_noop(bench, broker.bootstrap, prefix, n, events)
                elif path == "engine":  # E writes points and analysis records: its own copy of the input
                    copy = f"q{uuid.uuid4().hex[:6]}."
                    broker.create_topics(Topics(copy).all())
                    copy_events(broker.bootstrap, Topics(prefix), Topics(copy), events)
                    result = run_engine(bench, broker.bootstrap, copy, "core")
                elif path == "old":
                    result = run_worker(bench, broker.bootstrap, prefix, f"old-{i}", shlex.split(args.old_worker_cmd), "core")
                else:
                    result = run_worker(bench, broker.bootstrap, prefix, f"alone-{i}", [bench.cli(), "worker"], "core")
                bench.children.stop_all()
                runs[path].append(result)
                progress(f"  {path}: {result.get('rate') or 0:,.0f} tasks/s, cores {result.get('cores')}")
    labels = {"noop": "A: faust do-nothing agent", "engine": "E: core engine without faust", "worker": "core worker alone",
              "old": "old worker alone (--old-worker-cmd)"}
    print(f"\n{'path':<32} {'tasks/s (median)':>16}  runs")
    for path, results in runs.items():
        rates = [r["rate"] for r in results if r.get("rate")]
        median = statistics.median(rates) if rates else 0
        print(f"{labels[path]:<32} {median:>16,.0f}  {', '.join(f'{r:,.0f}' for r in rates)}")
    (BENCH_DIR / "core-stage.json").write_text(json.dumps({"tasks": n, "runs": runs}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
