#!/usr/bin/env python3
"""How long the analysis columns take to follow a task's row, on `phospho-stream up`.

    .venv/bin/python benchmarks/analysis_lag.py [--tasks 2000] [--rate 100]

A fresh `up` (its own data directory, free ports, the demo's config: language, sentiment,
keyword and regex events, cost) and an SDK child logging `--tasks` tasks at `--rate` per second
(four kinds of user messages in three languages, 50 sessions). The harness asks up's query
endpoint every 0.1 s which of the run's tasks are in `phospho.tasks` and which are analysed
(`analyzed = 1`): a task's lag is the first poll that shows it analysed minus the first poll
that showed its row (the issue's target: p95 < 2 s at normal load). Prints a table and rewrites
BENCHMARKS.md's <!-- analysis_lag:start/end -->.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _harness import REPO, ensure_project_python, machine_info, pct, progress
from _markdown import rewrite_section

START, END = "<!-- analysis_lag:start -->", "<!-- analysis_lag:end -->"
CONFIG = REPO / "stream_processors/phospho_stream/config/examples/demo.yaml"
LOGGER = """
import json, sys, time
import phospho
n, rate = int(sys.argv[1]), float(sys.argv[2])
texts = ["Where is my order {i}? I want a refund", "Je voudrais annuler ma commande {i}",
         "Dónde está mi pedido {i}?", "I love this app, thanks {i}!"]
phospho.init(project_id="lag")
times, t0 = {}, time.time()
for i in range(n):
    while time.time() < t0 + i / rate:
        time.sleep(0.001)
    times[f"lag-{i}"] = time.time()
    phospho.log(input=texts[i % 4].format(i=i), output="ok", task_id=f"lag-{i}", session_id=f"s{i % 50}")
phospho.flush()
print(json.dumps(times))
"""


def run(tasks: int, rate: float, workdir: Path) -> dict:
    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOSPHO_", "KAFKA_"))}
    env.update(PHOSPHO_DATA_DIR=str(workdir / "data"), PHOSPHO_SPOOL_DIR=str(workdir / "spool"))
    up = subprocess.Popen([str(REPO / ".venv/bin/phospho-stream"), "up", "--kafka-port", "0", "--dashboard-port", "0",
                           "--otlp-port", "0", "--config", str(CONFIG)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        bootstrap = next(line.split("=", 1)[1].strip() for line in up.stdout
                         if "export PHOSPHO_KAFKA_BOOTSTRAP_SERVERS=" in line)
        threading.Thread(target=lambda: [None for _ in up.stdout], daemon=True).start()
        info = json.loads((workdir / "data" / "up.json").read_text())
        client = httpx.Client(headers={"Authorization": f"Bearer {info['token']}"}, timeout=10)
        progress(f"up on {bootstrap}; logging {tasks:,} tasks at {rate:g}/s")
        child = subprocess.Popen([sys.executable, "-c", LOGGER, str(tasks), str(rate)],
                                 env={**env, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": bootstrap}, stdout=subprocess.PIPE, text=True)
        row_seen: dict[str, float] = {}
        analysed_seen: dict[str, float] = {}
        deadline = time.time() + tasks / rate + 90
        while time.time() < deadline and len(analysed_seen) < tasks:
            answer = client.post(info["url"], json={
                "sql": "SELECT task_id, analyzed FROM phospho.tasks WHERE startsWith(task_id, 'lag-')", "params": {}})
            answer.raise_for_status()
            now = time.time()
            for row in answer.json().get("rows", []):
                task_id, analysed = (row["task_id"], row["analyzed"]) if isinstance(row, dict) else row
                row_seen.setdefault(task_id, now)
                if analysed:
                    analysed_seen.setdefault(task_id, now)
            time.sleep(0.1)
        logged = json.loads(child.communicate(timeout=60)[0])
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(90)
    follow = sorted(analysed_seen[t] - row_seen[t] for t in analysed_seen)
    to_row = sorted(row_seen[t] - logged[t] for t in row_seen)
    return {"tasks": tasks, "rate": rate, "rows": len(row_seen), "analysed": len(analysed_seen),
            "follow": {"p50": pct(follow, 50), "p95": pct(follow, 95), "max": follow[-1]},
            "to_row": {"p50": pct(to_row, 50), "p95": pct(to_row, 95)}}


def markdown(result: dict, machine: dict, argv: list[str]) -> str:
    f, r = result["follow"], result["to_row"]
    verdict = "PASS" if f["p95"] < 2 and result["analysed"] == result["tasks"] else "FAIL"
    return "\n".join([
        START, "## Analysis lag (`benchmarks/analysis_lag.py`)", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {machine['nproc']} CPUs, load average "
        f"{machine['loadavg_at_start'][0]} at start; Python {machine['python']}. Command: `python benchmarks/analysis_lag.py "
        f"{' '.join(argv)}`.".replace(" `.", "`."), "",
        f"`phospho-stream up` with the demo's config; {result['tasks']:,} tasks logged at {result['rate']:g}/s; up's query "
        "endpoint polled every 0.1 s. Lag = first poll showing the task analysed - first poll showing its row.", "",
        "| figure | p50 (s) | p95 (s) | max (s) |", "|---|---:|---:|---:|",
        f"| analysis columns after the task's row | {f['p50']:.2f} | {f['p95']:.2f} | {f['max']:.2f} |",
        f"| task's row after its log() (the first tasks wait for the workers to join) | {r['p50']:.2f} | {r['p95']:.2f} | |",
        "", f"{result['analysed']:,} of {result['tasks']:,} tasks analysed. Target p95 < 2 s at normal load: **{verdict}**.",
        END]) + "\n"


def main() -> None:
    ensure_project_python()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    machine = machine_info()
    workdir = Path(tempfile.mkdtemp(prefix="phospho-lag-"))
    try:
        result = run(args.tasks, args.rate, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    section = markdown(result, machine, sys.argv[1:])
    print(section)
    rewrite_section(REPO / "BENCHMARKS.md", START, END, section)


if __name__ == "__main__":
    main()
