#!/usr/bin/env python3
"""Privacy benchmark: the core stage's throughput with every built-in detector on against off,
and what `phospho.init(redact=True)` costs an app's `phospho.log` caller.

    .venv/bin/python benchmarks/privacy.py            # 20,000 tasks, 3 passes per configuration
    .venv/bin/python benchmarks/privacy.py --quick    # 3,000 tasks, 2 passes; BENCHMARKS.md left alone

Core stage: the benchmark's traffic (benchmarks/_privacy_traffic.py) is logged once with the real
SDK into an embedded broker (Tansu, 4 partitions); each pass copies the same event bytes, at the
same partitions, into topics of its own and runs the core engine (engine/core.py, no faust) over
them as the worker does: batches of up to 4,000 messages of the event topics and core.points,
each batch's rows, points and state acknowledged by the broker. Passes alternate off, on, on,
off...; each pass's figure is the events processed over the time spent in `process()` (wall and
CPU of this process). The ratio compares the medians. SDK: one child process per setting logs the
same traffic; each log() call is timed in the caller, and the sender thread's CPU time is read
from /proc. Rewrites BENCHMARKS.md's <!-- privacy:start/end --> section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _markdown import rewrite_section  # benchmarks/ is on sys.path when a script runs
from _privacy_traffic import log_traffic
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from rich.console import Console
from rich.table import Table

import phospho
from phospho.redaction import EventRedactor, Redactor, default_rules
from phospho_schemas import EventDecoder, Topics
from phospho_stream.engine.core import CoreEngine
from phospho_stream.local.broker import EmbeddedBroker
from phospho_stream.settings import WorkerSettings

HERE = Path(__file__).resolve().parent
BENCHMARKS_MD = HERE.parent / "BENCHMARKS.md"
START, END = "<!-- privacy:start -->", "<!-- privacy:end -->"
TARGET = 0.8
PARTITIONS = 4


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "load": round(os.getloadavg()[0], 2),
            "python": platform.python_version()}


def logged_events(broker: EmbeddedBroker, tasks: int, spool: Path) -> tuple[list[tuple[str, int, bytes, bytes]], dict]:
    """The traffic, logged with the SDK (no redaction), read back: (kind, partition, key, value)."""
    topics = Topics("src.")
    broker.create_topics(topics.all())
    phospho.init(project_id="privacy-bench", bootstrap_servers=broker.bootstrap, topic_prefix=topics.prefix,
                 spool_dir=spool)
    counts = log_traffic(phospho, tasks)
    assert phospho.flush(300), phospho.stats()
    phospho.shutdown(30)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": uuid.uuid4().hex,
                         "enable.partition.eof": True, "log_level": 0})
    parts = [TopicPartition(t, p, OFFSET_BEGINNING) for t in topics.event_topics() for p in range(PARTITIONS)]
    consumer.assign(parts)
    events, ends = [], 0
    while ends < len(parts):
        for msg in consumer.consume(5000, 1.0):
            if msg.error():
                ends += 1
                continue
            events.append((topics.kind_of(msg.topic()), msg.partition(), msg.key(), msg.value()))
    consumer.close()
    return events, counts


def core_pass(broker: EmbeddedBroker, events: list, redactor: Redactor | None, data_dir: Path) -> dict[str, float]:
    """The core engine over a copy of `events` in topics of its own; time spent in process()."""
    topics = Topics(f"p{uuid.uuid4().hex[:8]}.")
    broker.create_topics(topics.all())
    producer = Producer({"bootstrap.servers": broker.bootstrap, "log_level": 0, "linger.ms": 20})
    for kind, partition, key, value in events:
        while True:
            try:
                producer.produce(topics.for_kind(kind), value, key, partition=partition)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0
    settings = WorkerSettings(bootstrap=broker.bootstrap, topic_prefix=topics.prefix, app_id=f"bench-{topics.prefix}",
                              topic_partitions=PARTITIONS, data_dir=data_dir)
    engine = CoreEngine(settings, redactor)
    engine.ensure_topics()
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": uuid.uuid4().hex, "log_level": 0})
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics.core_inputs()
                     for p in range(PARTITIONS)])
    wall = cpu = 0.0
    seen, quiet_since = 0, time.monotonic()
    try:
        while seen < len(events) or time.monotonic() - quiet_since < 1.5:
            batch = [m for m in consumer.consume(4000, 0.2) if not m.error()]
            if not batch:
                continue
            quiet_since = time.monotonic()
            seen += sum(1 for m in batch if m.topic() != topics.core_points)
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            engine.process([(m.topic(), m.partition(), m.offset(), m.key(), m.value()) for m in batch])
            wall += time.perf_counter() - start_wall
            cpu += time.process_time() - start_cpu
    finally:
        consumer.close()
        engine.close()
    return {"events": seen, "wall_s": wall, "cpu_s": cpu, "events_per_s": seen / wall, "cpu_us": cpu / seen * 1e6}


def redaction_cost(events: list, redactor: Redactor, tasks: int, passes: int) -> dict[str, float]:
    """The redaction the core stage does, alone: every decoded event through a fresh EventRedactor
    (its cache empty), best of `passes` in CPU time of this thread."""
    decoder = EventDecoder(timestamps_as_ms=True)
    decoded = [(kind, decoder.decode(value, expected_kind=kind)[1]) for kind, _, _, value in events]
    best = float("inf")
    for _ in range(passes):
        records = [(kind, dict(record)) for kind, record in decoded]
        redact = EventRedactor(redactor).redact
        start = time.thread_time()
        changed = sum(redact(kind, record) for kind, record in records)
        best = min(best, time.thread_time() - start)
    return {"us_per_event": best / len(events) * 1e6, "us_per_task": best / tasks * 1e6,
            "changed": changed, "events": len(events)}


def sdk_run(bootstrap: str, mode: str, tasks: int, workdir: Path) -> dict[str, Any]:
    result = workdir / f"sdk-{mode}.json"
    subprocess.run([sys.executable, str(HERE / "_privacy_sdk_child.py"), bootstrap, mode, str(tasks), str(result),
                    str(workdir / f"spool-{mode}")], check=True, timeout=1200,
                   env={**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    return json.loads(result.read_text())


def measure(tasks: int, passes: int) -> dict[str, Any]:
    report: dict[str, Any] = {"when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
                              "tasks": tasks, "passes": passes}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(partitions=PARTITIONS,
                                                              log_path=Path(tmp) / "tansu.log") as broker:
        work = Path(tmp)
        events, counts = logged_events(broker, tasks, work / "spool")
        report["events"] = {**counts, "messages": len(events)}
        redactor = Redactor(default_rules())
        order = [flag for i in range(passes) for flag in ((False, True) if i % 2 == 0 else (True, False))]
        runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
        for on in order:
            print(f"core pass, redaction {'on' if on else 'off'}...", file=sys.stderr, flush=True)
            runs["on" if on else "off"].append(core_pass(broker, events, redactor if on else None, work))
        report["core"] = runs
        report["redaction"] = redaction_cost(events, redactor, tasks, max(passes, 3))
        report["sdk"] = {mode: sdk_run(broker.bootstrap, mode, tasks, work) for mode in ("off", "on")}
    median = {k: statistics.median(r["events_per_s"] for r in v) for k, v in runs.items()}
    report["ratio"] = median["on"] / median["off"]
    cpu = {k: statistics.median(r["cpu_us"] for r in v) for k, v in runs.items()}
    report["cpu_ratio"] = cpu["off"] / cpu["on"]
    return report


def show(report: dict[str, Any]) -> None:
    console = Console()
    table = Table(title=f"core stage, {report['events']['messages']:,} events per pass (median of {report['passes']})")
    for column in ("redaction", "events/s (wall in process)", "CPU µs/event", "passes (events/s)"):
        table.add_column(column, justify="left" if column == "redaction" else "right")
    for key, label in (("off", "off"), ("on", "all built-in detectors, mask")):
        runs = report["core"][key]
        table.add_row(label, f"{statistics.median(r['events_per_s'] for r in runs):,.0f}",
                      f"{statistics.median(r['cpu_us'] for r in runs):.1f}",
                      _rates(runs))
    console.print(table)
    console.print(f"throughput on/off: {report['ratio']:.2f}x (target >= {TARGET}x: {verdict(report)}); "
                  f"CPU only (off/on µs per event): {report['cpu_ratio']:.2f}x")
    red = report["redaction"]
    console.print(f"redaction alone: {red['us_per_task']:.1f} µs per task ({red['us_per_event']:.1f} µs per event, "
                  f"{red['changed']:,} of {red['events']:,} events changed)")
    sdk = Table(title=f"phospho.log caller cost, {report['sdk']['off']['calls']:,} calls")
    for column in ("init(redact=...)", "median µs/call", "p99 µs/call", "sender thread CPU µs/event"):
        sdk.add_column(column, justify="left" if column.startswith("init") else "right")
    for mode, label in (("off", "None"), ("on", "True (every built-in detector)")):
        r = report["sdk"][mode]
        sdk.add_row(label, f"{r['median_us']:.2f}", f"{r['p99_us']:.2f}", f"{r['sender_cpu_us_per_event']:.1f}")
    console.print(sdk)
    off, on = report["sdk"]["off"], report["sdk"]["on"]
    console.print(f"caller median with/without redact: {on['median_us'] / off['median_us']:.2f}x; sender thread CPU "
                  f"per event: {on['sender_cpu_us_per_event'] / off['sender_cpu_us_per_event']:.2f}x")


def _rates(runs: list[dict[str, float]]) -> str:
    return ", ".join(f"{r['events_per_s']:,.0f}" for r in runs)


def verdict(report: dict[str, Any]) -> str:
    return "PASS" if report["ratio"] >= TARGET else "FAIL"


def markdown(report: dict[str, Any]) -> str:
    m, ev, core, sdk = report["machine"], report["events"], report["core"], report["sdk"]
    med = {k: (statistics.median(r["events_per_s"] for r in v), statistics.median(r["cpu_us"] for r in v))
           for k, v in core.items()}
    lines = [
        START, "## Privacy (`benchmarks/privacy.py`)", "",
        f"Run {report['when']} on {m['nproc']} CPUs ({m['cpu']}), load average {m['load']} at start; Python "
        f"{m['python']}. Command: `python benchmarks/privacy.py`.", "",
        f"Core stage with every built-in detector on: **{report['ratio']:.2f}x** the throughput without "
        f"(target >= {TARGET}x: **{verdict(report)}**).", "",
        "| core stage | events/s | CPU µs/event | each pass (events/s) |", "|---|---:|---:|---:|",
        *(f"| redaction {label} | {med[k][0]:,.0f} | {med[k][1]:.1f} | {_rates(core[k])} |"
          for k, label in (("off", "off"), ("on", "on (all built-in detectors, mask)"))), "",
        f"Throughput counts the time the stage waits for the broker's acknowledgements too; in CPU alone the "
        f"stage with redaction is **{report['cpu_ratio']:.2f}x** as fast. The redaction itself (every event "
        f"decoded, then `EventRedactor.redact` alone, cache empty, best of {max(report['passes'], 3)}): "
        f"**{report['redaction']['us_per_task']:.1f} µs per task**, {report['redaction']['us_per_event']:.1f} µs "
        f"per event ({report['redaction']['changed']:,} of {report['redaction']['events']:,} events changed).", "",
        f"SDK-side redaction (`phospho.init(redact=True)`) costs the `phospho.log` caller "
        f"{sdk['on']['median_us'] / sdk['off']['median_us']:.2f}x its median time without (it runs in the sender "
        f"thread, whose CPU per event is {sdk['on']['sender_cpu_us_per_event'] / sdk['off']['sender_cpu_us_per_event']:.2f}x "
        "what it is without).", "",
        "| `phospho.log` with `init(redact=...)` | caller median µs/call | caller p99 µs/call | sender thread CPU µs/event |",
        "|---|---:|---:|---:|",
        *(f"| {label} | {sdk[k]['median_us']:.2f} | {sdk[k]['p99_us']:.2f} | {sdk[k]['sender_cpu_us_per_event']:.1f} |"
          for k, label in (("off", "None"), ("on", "True"))), "",
        "How it was measured:", "",
        f"- Traffic (`benchmarks/_privacy_traffic.py`): {ev['tasks']:,} tasks logged with the real SDK, {ev['spans']:,} "
        f"steps (spans) and {ev['feedback']:,} feedback: {ev['messages']:,} events. Inputs are the suite's labelled "
        "user messages (10 languages), one task in ten a message of tests/unit/privacy/corpus/planted.yaml "
        "(personal data or secrets); answers 3-7 messages long; one of four system prompts (the first holds an "
        "e-mail address); three metadata values (one in twenty with an e-mail address); every input and answer "
        "made unique, so that the redactor's cache only helps where an app's traffic would (system prompts, the "
        "input repeated in the raw input's messages, metadata values).",
        f"- Core stage: the engine of the worker (engine/core.py) without faust, in this process, over a copy of "
        f"the same event bytes at the same partitions for every pass, batches of up to 4,000 messages (event "
        f"topics and core.points, as the worker's agent reads them); each batch's rows, points and state records "
        f"acknowledged by the embedded broker before the next. {report['passes']} passes per setting, alternating; "
        "a pass's rate is its events over the wall time spent in `process()` (waiting for the broker included, "
        "reading excluded); CPU is this process's (all its threads). The medians are compared.",
        "- SDK: one child process per setting (benchmarks/_privacy_sdk_child.py) logs the same traffic to the "
        "embedded broker after 500 warm-up tasks; every `phospho.log` call is timed in the caller "
        "(perf_counter_ns); after `flush`, the sender thread's CPU time is read from /proc/self/task/<tid>/stat "
        "and divided by the events it sent. Redaction runs in the sender thread, before encoding: the caller "
        "pays nothing for it while the queue has room. When the queue is full (the app logs faster than the "
        "sender sends) the caller encodes its own event, and then redacts it too.",
        END, "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3,000 tasks, 2 passes, BENCHMARKS.md left alone")
    parser.add_argument("--tasks", type=int, default=None)
    parser.add_argument("--passes", type=int, default=None)
    args = parser.parse_args(argv)
    tasks = args.tasks or (3_000 if args.quick else 20_000)
    passes = args.passes or (2 if args.quick else 3)
    report = measure(tasks, passes)
    show(report)
    if not args.quick:
        rewrite_section(BENCHMARKS_MD, START, END, markdown(report))


if __name__ == "__main__":
    main()
