#!/usr/bin/env python3
"""Dashboard benchmark: every page's API requests on 1M tasks, against a 300 ms target.

    .venv/bin/python benchmarks/dashboard.py             # 1M tasks (~1.5M spans, 200k sessions), 15 runs a page
    .venv/bin/python benchmarks/dashboard.py --quick     # 100k tasks, 5 runs; BENCHMARKS.md left alone

Rows are generated straight into a fresh chDB store's tables (benchmarks/_dashboard_data.py:
the pipeline benchmark's task/session/feedback generator plus 0-3 spans per task, and one long
session of 300 tasks with 3 steps each), then
`phospho-stream dashboard --dsn chdb://...` serves them in a process of its own. A page is the
set of API requests the browser makes for it, sent together as the page does (through the
locked read path: each statement parsed, then run with readonly=1 on one of the store's read
connections, one statement at a time per connection); its time is from the first request sent to the last
answer read. One warm-up run per page, then --runs timed runs: median, p95, max. Each request's
own time (the server's `Server-Timing`) is kept too. Prints a table, writes .bench/dashboard.json
and rewrites this benchmark's section of BENCHMARKS.md (<!-- dashboard:start/end -->).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# benchmarks/ is on sys.path when a script runs
from _dashboard_data import LONG_SESSION_TASKS, LONG_USER, LONG_WINDOW, load_rows
from _harness import ensure_project_python, machine_info, pct, progress
from _markdown import rewrite_section

HERE = Path(__file__).resolve().parent
BENCHMARKS_MD = HERE.parent / "BENCHMARKS.md"
START, END = "<!-- dashboard:start -->", "<!-- dashboard:end -->"
TARGET_MS = 300.0


def pages(sample: dict[str, str]) -> list[tuple[str, list[str]]]:
    """(page, its API requests), with ids and values taken from the generated data."""
    user, task, window, long = (urllib.parse.quote(sample[k], safe="") for k in ("user", "task", "window", "long_window"))
    return [
        ("Tasks, first page", ["tasks?page=1"]),
        ("Tasks page's filter choices (loaded after it)", ["facets"]),
        ("Tasks, page 200", ["tasks?page=200"]),
        ("Tasks by user", [f"tasks?user={user}"]),
        ("Tasks by text in input/output", ["tasks?q=refund"]),
        ("Tasks by feedback (failure)", ["tasks?flag=failure"]),
        ("Tasks by time range + model + version", [f"tasks?from_ms={sample['from_ms']}&to_ms={sample['to_ms']}"
                                                  "&model=gpt-4o-mini&version=20251113_bench"]),
        ("Task opened (with its steps)", [f"task?id={task}"]),
        ("Sessions, newest first", ["sessions?page=1"]),
        ("Sessions by length", ["sessions?sort=tasks"]),
        ("Session opened (transcript + steps)", [f"session?id={window}"]),
        (f"Long session opened ({LONG_SESSION_TASKS} tasks, {3 * LONG_SESSION_TASKS} steps)", [f"session?id={long}"]),
        ("Tasks of the long session (filter)", [f"tasks?session={long}"]),
        ("Users by tasks", ["users?sort=tasks"]),
        ("Users by failures", ["users?sort=failures"]),
        ("User opened (metrics, sessions, tasks)", [f"user?id={user}", f"sessions?user={user}", f"tasks?user={user}"]),
        ("Insights (7 charts)", ["insights/sessions", "insights/tasks", "insights/endings"]),
    ]


def fetch(http: Any, path: str) -> tuple[float, float]:
    """(wall ms, server ms) of one request; raises on a non-200 answer."""
    started = time.perf_counter()
    response = http.get("api/" + path)
    response.raise_for_status()
    timing = response.headers.get("Server-Timing", "db;dur=nan")
    return (time.perf_counter() - started) * 1000, float(timing.split("dur=")[1])


def time_page(http: Any, requests: list[str], runs: int) -> dict[str, Any]:
    walls: list[float] = []
    per_request: dict[str, list[float]] = {r: [] for r in requests}
    with ThreadPoolExecutor(len(requests)) as pool:
        for run in range(runs + 1):
            started = time.perf_counter()
            results = list(pool.map(lambda r: fetch(http, r), requests))
            if run == 0:
                continue  # warm-up
            walls.append((time.perf_counter() - started) * 1000)
            for r, (_, server_ms) in zip(requests, results, strict=True):
                per_request[r].append(server_ms)
    walls.sort()
    return {"median_ms": statistics.median(walls), "p95_ms": pct(walls, 95), "max_ms": walls[-1], "runs": walls,
            "requests": {r: statistics.median(v) for r, v in per_request.items()}}


def sample_ids(store: Any) -> dict[str, str]:
    """A busy user (not the long session's), one of their tasks with steps, its session window,
    a week of time, and the long session's window."""
    user = store.query("SELECT user_id FROM phospho.users WHERE user_id != {long:String} ORDER BY task_count DESC, user_id LIMIT 1",
                       {"long": LONG_USER}).rows[0][0]
    task, window = store.query("""SELECT task_id, session_window_id FROM phospho.tasks
        WHERE user_id = {u:String} AND span_count = 3 ORDER BY created_at DESC LIMIT 1""", {"u": user}).rows[0]
    last = store.query("SELECT toUnixTimestamp64Milli(max(created_at)) FROM phospho.tasks").rows[0][0]
    return {"user": user, "task": task, "window": window, "from_ms": str(last - 7 * 86_400_000), "to_ms": str(last),
            "long_window": LONG_WINDOW}


def time_statements(store: Any, sample: dict[str, str], runs: int) -> list[dict[str, Any]]:
    """Each statement behind the slow pages, alone, in this process (median ms)."""
    from phospho_stream.read.dashboard import queries as Q

    ids = [r[0] for r in store.query(Q.compose(Q.TASKS_PAGE, Q.TASK_FILTERS, []), {"limit": 50, "offset": 0}).rows]
    transcript = [r[0] for r in store.query(Q.SESSION_TASKS, {"window_id": sample["window"], "limit": 500}).rows]
    long = [r[0] for r in store.query(Q.SESSION_TASKS, {"window_id": sample["long_window"], "limit": 500}).rows]
    cases = [
        ("TASKS_PAGE (ids of a page + total)", Q.compose(Q.TASKS_PAGE, Q.TASK_FILTERS, []), {"limit": 50, "offset": 0}),
        ("TASK_ROWS (50 tasks by id)", Q.TASK_ROWS, {"ids": json.dumps(ids)}),
        ("TASK (one task by id)", Q.TASK, {"task_id": sample["task"]}),
        ("TASK_SPANS (a task's steps)", Q.TASK_SPANS, {"task_id": sample["task"]}),
        ("SESSION (one window)", Q.SESSION, {"window_id": sample["window"]}),
        ("SESSION_TASKS (a window's transcript)", Q.SESSION_TASKS, {"window_id": sample["window"], "limit": 500}),
        ("SPANS_OF_TASKS (the transcript's steps)", Q.SPANS_OF_TASKS, {"ids": json.dumps(transcript)}),
        (f"SESSION_TASKS (the long session's {len(long)} tasks)", Q.SESSION_TASKS, {"window_id": sample["long_window"], "limit": 500}),
        ("SPANS_OF_TASKS (the long session's steps)", Q.SPANS_OF_TASKS, {"ids": json.dumps(long)}),
        ("TASK_INSIGHTS", Q.TASK_INSIGHTS, None), ("SESSION_SHAPES", Q.SESSION_SHAPES, None),
        ("ENDING_MESSAGES", Q.ENDING_MESSAGES, {"limit": 10}),
    ]
    out = []
    for name, sql, params in cases:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            store.query(sql, params, Q.tuning(sql))
            times.append((time.perf_counter() - started) * 1000)
        out.append({"statement": name, "median_ms": statistics.median(times)})
    return out


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import httpx

    from phospho_sinks import connect, migrate

    store = connect(f"chdb://{workdir / 'chdb'}")
    migrate(store)
    progress(f"dashboard: generating {args.tasks:,} tasks into {store.dsn}")
    data = load_rows(store, args.tasks, say=progress)
    data["schema"] = store.query("SELECT max(version), argMax(description, version) FROM phospho.schema_migrations").rows[0]
    sample = sample_ids(store)
    statements = time_statements(store, sample, args.runs)
    store.close()  # the dashboard process opens the directory (one process per chDB directory)
    server = subprocess.Popen([str(Path(sys.executable).parent / "phospho-stream"), "dashboard", "--dsn", f"chdb://{workdir / 'chdb'}"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        login = server.stdout.readline().strip()  # the URL with the token
        if not login.startswith("http"):
            raise RuntimeError("phospho-stream dashboard did not start")
        url, _, token = login.partition("?token=")
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120, trust_env=False,
                            limits=httpx.Limits(max_connections=16))
        results = []
        for name, requests in pages(sample):
            res = {"page": name, **time_page(http, requests, args.runs)}
            progress(f"{name}: median {res['median_ms']:.0f} ms, p95 {res['p95_ms']:.0f} ms")
            results.append(res)
    finally:
        server.terminate()
        server.wait(30)
    return {"data": data, "sample": sample, "pages": results, "statements": statements}


def table(report: dict[str, Any]) -> list[str]:
    lines = [f"| page | API requests (server ms, median) | median ms | p95 ms | max ms | < {TARGET_MS:.0f} ms (p95) |",
             "|---|---|---:|---:|---:|---|"]
    for p in report["pages"]:
        reqs = "<br>".join(f"`{r.split('?')[0]}` {ms:.0f}" for r, ms in p["requests"].items())
        verdict = "**PASS**" if p["p95_ms"] < TARGET_MS else "**FAIL**"
        lines.append(f"| {p['page']} | {reqs} | {p['median_ms']:.0f} | {p['p95_ms']:.0f} | {p['max_ms']:.0f} | {verdict} |")
    return lines


def markdown(report: dict[str, Any]) -> str:
    m, d = report["machine"], report["data"]
    return "\n".join([
        START, "## Dashboard (`benchmarks/dashboard.py`)", "",
        f"Run {report['date']} on {m['nproc']} CPUs ({m['cpu'] or 'unknown CPU'}, {m['mem_gb']} GB), load average "
        f"{m['loadavg_at_start'][0]} at start; Python {m['python']}. Command: `{report['command']}`.", "",
        f"Data, generated into chDB's storage tables: {d['task_rows']:,} tasks, {d['span_rows']:,} spans, "
        f"{d['session_windows']:,} session windows, {d['feedback_rows']:,} feedback rows ({d['generate_seconds']:.0f} s; "
        f"among them one long session of {LONG_SESSION_TASKS} tasks with 3 steps each, written last), "
        f"storage at migration {d['schema'][0]} ({d['schema'][1]}). "
        f"`phospho-stream dashboard --dsn chdb://...` serves them; each page's requests are sent together, as the page "
        f"does, {report['runs']} timed runs after a warm-up.", "",
        *table(report), "",
        f"The statements behind the slowest pages, each run alone ({report['runs']} runs, median):", "",
        "| statement | median ms |", "|---|---:|",
        *[f"| `{q['statement']}` | {q['median_ms']:.0f} |" for q in report["statements"]], "",
        "The server runs each statement through the locked read path (parsed, then run with readonly=1 on a read "
        "connection of the store, one statement at a time per connection), so a page's requests can queue behind "
        "each other; a request's server time includes that wait. Every query reads the analysts' views (`dashboard/queries.py`); "
        "a session's tasks and a task's steps are first found through the storage tables' bloom_filter indexes "
        "(`task_rows.window_id`, `span_rows.task_id`).",
        "", "Raw results: `.bench/dashboard.json` (not committed).", END, ""])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=None, help="generated tasks (default 1,000,000; --quick 100,000)")
    p.add_argument("--runs", type=int, default=None, help="timed runs per page (default 15; --quick 5)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--write-md", action="store_true", help="rewrite BENCHMARKS.md even for a --quick run")
    p.add_argument("--no-md", action="store_true")
    args = p.parse_args(argv)
    args.tasks = args.tasks or (100_000 if args.quick else 1_000_000)
    args.runs = args.runs or (5 if args.quick else 15)
    ensure_project_python()
    report: dict[str, Any] = {"benchmark": "dashboard", "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                              "command": ("python benchmarks/dashboard.py " + " ".join(sys.argv[1:] if argv is None else argv)).strip(),
                              "machine": machine_info(), "runs": args.runs, "target_ms": TARGET_MS}
    with tempfile.TemporaryDirectory(prefix="phospho-bench-dashboard-") as tmp:
        report.update(run(args, Path(tmp)))
    print("\n".join(table(report)))
    out = HERE.parent / ".bench" / ("dashboard.json" if not args.quick else "dashboard-quick.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str))
    if not args.no_md and (not args.quick or args.write_md):
        rewrite_section(BENCHMARKS_MD, START, END, markdown(report))
        progress(f"rewrote the dashboard section of {BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
