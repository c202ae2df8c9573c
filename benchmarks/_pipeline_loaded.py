"""The pre-loaded parts of benchmarks/pipeline.py: N tasks logged and flushed first, then the
baselines (B, A, E) and the workers alone read them, each as a new consumer group."""

from __future__ import annotations

import json
import shlex
import sys
import time
import uuid
from typing import Any

from _harness import progress
from _pipeline_bench import (
    HERE,
    PARTITIONS,
    Bench,
    fresh_broker,
    read_json,
    sdk_phase,
    start_sdk,
    wait_for,
)
from _pipeline_rows import RowCounter, analytics_row, any_row, core_row
from _procs import CpuSampler, cpu_seconds
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from phospho_schemas import Topics

__all__ = ["run_preloaded"]


def run_preloaded(bench: Bench) -> dict[str, Any]:
    args, n = bench.args, bench.args.tasks
    res: dict[str, Any] = {"tasks": n}
    prefix = f"p{uuid.uuid4().hex[:6]}."
    topics = Topics(prefix)
    with fresh_broker(prefix) as broker:
        progress(f"pre-loaded: logging {n:,} tasks with the SDK")
        sdk, cfg = start_sdk(bench, broker.bootstrap, prefix, "burst", python=args.sdk_python, tasks=n)
        loaded = sdk_phase(sdk, cfg, "done", bench.timeout() * 2)
        if not loaded["flush_ok"]:
            raise RuntimeError(f"the SDK did not deliver every event: {loaded['stats']}")
        events = sum(loaded["counts"].values())
        res["events"], res["preload_seconds"] = loaded["counts"], loaded["flushed_at"] - loaded["first_log"]

        progress("pre-loaded: baseline B (consume + decode + row + chDB insert)")
        out = bench.workdir / f"raw-{uuid.uuid4().hex[:6]}.json"
        raw = bench.spawn("raw", [sys.executable, str(HERE / "_pipeline_raw.py"), broker.bootstrap, topics.tasks, str(n),
                                  str(out.with_suffix(".chdb")), str(out)], bench.env(broker.bootstrap, prefix, "raw"))
        if raw.wait(bench.timeout()) != 0:
            raise RuntimeError(f"baseline B exited with {raw.returncode}; see .bench/pipeline-raw.log")
        b = json.loads(out.read_text())
        res["raw"] = {**b, "seconds": b["done_at"] - b["first_message_at"], "rate": n / (b["done_at"] - b["first_message_at"])}

        progress("pre-loaded: baseline A (the worker's faust app and batching, doing nothing)")
        res["noop"] = run_noop(bench, broker.bootstrap, prefix, n, events)
        copy = f"q{uuid.uuid4().hex[:6]}."  # E writes points and analysis records: its own copy of the input
        broker.create_topics(Topics(copy).all())
        copy_events(broker.bootstrap, topics, Topics(copy), events)
        progress("pre-loaded: baseline E (the core engine without faust)")
        res["engine"] = run_engine(bench, broker.bootstrap, copy, "core")
        progress("pre-loaded: the core worker alone")
        res["worker"] = run_worker(bench, broker.bootstrap, prefix, "alone", [bench.cli(), "worker"], "core")
        if args.old_worker_cmd:
            progress(f"pre-loaded: the old worker ({args.old_worker_cmd})")
            res["old_worker"] = run_worker(bench, broker.bootstrap, prefix, "old", shlex.split(args.old_worker_cmd), "core")
        progress("pre-loaded: the analytics worker alone, on the core worker's analysis records")
        res["analytics"] = run_worker(bench, broker.bootstrap, prefix, "analytics", [
            bench.cli(), "worker", "--stage", "analytics", "--config", str(bench.config_path)], "analytics")
        progress("pre-loaded: baseline E (the analytics engine without faust)")
        res["analytics_engine"] = run_engine(bench, broker.bootstrap, copy, "analytics")
    return res


def copy_events(bootstrap: str, source: Any, target: Any, events: int) -> None:
    """The pre-loaded events, byte for byte (key, partition), under another prefix."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-copy", "log_level": 0})
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in source.event_topics() for p in range(PARTITIONS)])
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "log_level": 0})
    to = dict(zip(source.event_topics(), target.event_topics(), strict=True))
    copied, deadline = 0, time.monotonic() + 300
    while copied < events and time.monotonic() < deadline:
        for msg in consumer.consume(5_000, 0.5):
            if not msg.error():
                producer.produce(to[msg.topic()], msg.value(), msg.key(), partition=msg.partition())
                producer.poll(0)
                copied += 1
    consumer.close()
    if producer.flush(60) or copied < events:
        raise RuntimeError(f"copied {copied:,} of {events:,} pre-loaded events")


def run_engine(bench: Bench, bootstrap: str, prefix: str, stage: str) -> dict[str, Any]:
    out = bench.workdir / f"engine-{stage}-{uuid.uuid4().hex[:6]}.json"
    cmd = [sys.executable, str(HERE / "_pipeline_engine.py"), stage, str(bench.args.tasks), str(out), str(bench.config_path)]
    proc = bench.spawn(f"engine-{stage}", cmd, bench.env(bootstrap, prefix, f"bench-engine-{uuid.uuid4().hex[:6]}"))
    sampler = CpuSampler({"engine": lambda: cpu_seconds(proc.pid)})
    sampler.start()
    try:
        if proc.wait(bench.timeout()) != 0:
            raise RuntimeError(f"the {stage} engine exited with {proc.returncode}; see .bench/pipeline-engine-{stage}.log")
    finally:
        sampler.stop()
    res = json.loads(out.read_text())
    if res.get("rate"):
        res["cores"] = sampler.between(res["first_end"], res["first_end"] + res["seconds"]).get("engine", {}).get("cores")
    return res


def run_noop(bench: Bench, bootstrap: str, prefix: str, n: int, events: int) -> dict[str, Any]:
    out = bench.workdir / f"noop-{uuid.uuid4().hex[:6]}.json"
    proc = bench.spawn("noop", [sys.executable, str(HERE / "_pipeline_noop.py"), str(events), str(out)],
                       bench.env(bootstrap, prefix, f"bench-noop-{uuid.uuid4().hex[:6]}"))
    started = time.time()
    sampler = CpuSampler({"noop": lambda: cpu_seconds(proc.pid)})
    sampler.start()
    try:
        a = wait_for("baseline A", lambda: read_json(out), bench.timeout(), every=0.2, procs=(proc,))
    finally:
        sampler.stop()
        bench.children.stop(proc)
    seconds = a["done_at"] - a["first_batch_at"]
    msgs = (events - a["first_batch_events"]) / seconds
    return {**a, "events": events, "msgs_per_s": msgs, "rate": msgs * n / events, "seconds": seconds,
            "start_and_join_s": a["first_batch_at"] - started,
            "cores": sampler.between(a["first_batch_at"], a["done_at"]).get("noop", {}).get("cores")}


def run_worker(bench: Bench, bootstrap: str, prefix: str, label: str, cmd: list[str], rows: str) -> dict[str, Any]:
    """A worker command on the pre-loaded topics, as a new consumer group, timed on rows.tasks."""
    wanted = {"core": core_row, "analytics": analytics_row, "any": any_row}[rows]
    started = time.time()
    counter = RowCounter(bootstrap, Topics(prefix).rows("tasks"), bench.args.tasks, wanted, int(started * 1000))
    counter.start()
    proc = bench.spawn(label, cmd, bench.env(bootstrap, prefix, f"bench-{label}-{uuid.uuid4().hex[:6]}"))
    spy = bench.profile(proc, label)
    sampler = CpuSampler({"worker": lambda: cpu_seconds(proc.pid)})
    sampler.start()
    try:
        wait_for(f"{label} worker: {bench.args.tasks:,} tasks on rows.tasks", counter.done.is_set, bench.timeout(),
                 every=0.2, procs=(proc,))
    finally:
        sampler.stop()
        bench.children.stop(proc)
        counter.stop()
        if spy is not None:
            spy.wait(30)
    figures = counter.figures()
    if figures["rate"] is not None:
        figures["start_and_join_s"] = figures["first_ms"] / 1000 - started
        figures["cores"] = sampler.between(figures["first_ms"] / 1000, figures["complete_ms"] / 1000).get("worker", {}).get("cores")
    return figures
