#!/usr/bin/env python3
"""Evaluation benchmark: evaluations/s of the evaluation engine against an OpenAI-compatible
server, as a share of what that server answers; the cache on duplicated inputs; tokens and cost
per 1,000 tasks.

    .venv/bin/python benchmarks/evaluation.py            # 2,000 tasks per row
    .venv/bin/python benchmarks/evaluation.py --quick    # 400 tasks; BENCHMARKS.md left alone

The server is the tests' judge server (tests/support/judge_server.py: Starlette + uvicorn) run
as a process of its own, answering every request after `--delay` seconds (a model's latency).
What it can answer at concurrency N is measured first with a bare client (httpx, N requests in
flight, distinct prompts), then the engine (EvaluationEngine over the embedded broker: records
read, prompts built, calls made through the openai client with max_concurrency N, answers
parsed, rows and state written and acknowledged) evaluates distinct tasks: its evaluations/s
over the server's requests/s is the ratio (target >= 0.9). Then the same tasks with each input
repeated (the cache's hit ratio against the duplicates' share), and the tokens and cost of 1,000
tasks: the evaluation alone, then with two LLM events, priced as gpt-4o-mini (genai-prices).
Rewrites BENCHMARKS.md's <!-- evaluation:start/end -->.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
from _markdown import rewrite_section  # benchmarks/ is on sys.path when a script runs
from confluent_kafka import Consumer, Producer, TopicPartition
from openai.types.chat import ChatCompletion
from pipeline import machine_info
from rich.console import Console
from rich.table import Table

from phospho_schemas import Topics
from phospho_stream.config import ProjectConfig, parse_config
from phospho_stream.engine.evaluation import EvaluationEngine
from phospho_stream.engine.output import partition_of
from phospho_stream.local.broker import EmbeddedBroker
from phospho_stream.settings import WorkerSettings

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
START, END = "<!-- evaluation:start -->", "<!-- evaluation:end -->"
TARGET_RATIO = 0.9
PARTITIONS = 4

QUESTIONS = ["Where is my order {n}? It was due on Monday.", "How do I reset my password for account {n}?",
             "Can I get a refund for order {n}, the item arrived broken?",
             "What does the premium plan cost for a team of {n} people?",
             "The API returns a 401 error for key {n}, what is wrong?"]
ANSWERS = ["Your order {n} left our warehouse yesterday and should arrive within two days.",
           "Open Settings, then Security, and choose Reset password; a link goes to your e-mail.",
           "I am sorry about that. I have opened a refund request for order {n}; expect it in 5 days.",
           "The premium plan costs $12 per seat per month, so {n} seats are ${n}2 a month.",
           "A 401 means the key is not valid: check that key {n} is active and sent as a Bearer token."]
EVENTS = """events:
  - event_name: asks for a human
    description: The user asks to talk to a human agent.
    detection_engine: llm_detection
    detection_scope: task_input_only
  - event_name: answer quality
    description: How good the assistant's answer is.
    detection_engine: llm_detection
    detection_scope: task_output_only
    score_range_settings: {score_type: range, min: 1, max: 5}
"""


class JudgeProcess:
    """tests/support/judge_server.py as a child process (benchmarks do not import the tests)."""

    def __init__(self, delay_s: float) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.support.judge_server", "--setup",
                                      json.dumps({"delay_s": delay_s})], cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise SystemExit(f"the judge server did not start (exit {self.proc.poll()})")
        for _ in range(100):
            try:
                self.stats()
                break
            except httpx.HTTPError:
                time.sleep(0.05)

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/admin/stats", timeout=10).json()

    def reset(self) -> None:
        httpx.post(f"{self.url}/admin/reset", timeout=10)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _task(i: int, text_of: int) -> dict[str, Any]:
    q, a = QUESTIONS[text_of % len(QUESTIONS)], ANSWERS[text_of % len(ANSWERS)]
    return {"kind": "task", "task_id": f"t{i}", "session_key": f"s{i}|", "session_id": f"s{i}", "user_id": None,
            "created_at_ms": 1_763_700_000_000 + i, "input": q.format(n=text_of), "output": a.format(n=text_of),
            "system_prompt": "You are the support assistant of an online shop. Be brief and precise.",
            "model": "gpt-4o-mini", "version_id": "v1", "usage": None, "span_usage": {}, "jv": 1}


def _produce(settings: WorkerSettings, records: list[dict[str, Any]]) -> None:
    """Records in messages of 200 per partition, as the core batches them."""
    producer = Producer({"bootstrap.servers": settings.bootstrap, "log_level": 0, "linger.ms": 5})
    by_partition: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        by_partition.setdefault(partition_of(record["session_key"], PARTITIONS), []).append(record)
    topic = Topics(settings.topic_prefix).analysis_tasks
    for partition, items in by_partition.items():
        for start in range(0, len(items), 200):
            producer.produce(topic, orjson.dumps(items[start:start + 200]), partition=partition)
    producer.flush(30)


class _Reader:
    """The analysis topic's messages, in the order they came, as the worker hands them over."""

    def __init__(self, settings: WorkerSettings) -> None:
        topic = Topics(settings.topic_prefix).analysis_tasks
        self.consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": f"b-{uuid.uuid4().hex}",
                                  "log_level": 0})
        self.consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])

    def read(self, expected: int) -> list[tuple[str, int, int, bytes | None, bytes | None]]:
        got: list[Any] = []
        deadline = time.monotonic() + 60
        while sum(len(orjson.loads(m.value())) for m in got) < expected and time.monotonic() < deadline:
            got += [m for m in self.consumer.consume(1000, 0.5) if not m.error()]
        return [(m.topic(), m.partition(), m.offset(), m.key(), m.value()) for m in got]

    def close(self) -> None:
        self.consumer.close()


async def _bare(url: str, concurrency: int, requests: int) -> float:
    """Requests/s the server answers to a bare client keeping `concurrency` requests in flight."""
    queue = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        async def worker() -> None:
            for i in queue:
                body = {"model": "gpt-4o-mini", "max_tokens": 80, "temperature": 0, "messages": [
                    {"role": "user", "content": f"success or failure? {i}"}]}
                (await client.post("/v1/chat/completions", json=body)).raise_for_status()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


async def _openai_bare(url: str, concurrency: int, requests: int) -> float:
    """The same with the openai client (what the engine calls through), nothing else around it."""
    client = openai.AsyncOpenAI(api_key="no-key", base_url=f"{url}/v1", max_retries=0)
    queue = iter(range(requests))

    async def worker() -> None:
        for i in queue:
            await client.post("/chat/completions", cast_to=ChatCompletion, body={
                "model": "gpt-4o-mini", "max_tokens": 80, "temperature": 0,
                "messages": [{"role": "user", "content": f"success or failure? {i}"}]})
    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)
    finally:
        await client.close()


def _config(url: str, concurrency: int, events: bool) -> ProjectConfig:
    return parse_config(f"llm:\n  base_url: {url}/v1\n  model: gpt-4o-mini\n  max_concurrency: {concurrency}\n"
                        f"evaluation: {{enabled: true, few_shot: 4}}\n{EVENTS if events else ''}")


def _engine_run(broker: EmbeddedBroker, url: str, concurrency: int, tasks: int, distinct: int,
                events: bool = False) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    broker.create_topics(Topics(prefix).all())
    settings = WorkerSettings(bootstrap=broker.bootstrap, topic_prefix=prefix, app_id=f"b-{prefix}",
                              topic_partitions=PARTITIONS, data_dir=Path(tempfile.mkdtemp()),
                              worker_producer_batch_bytes=65_536)
    reader = _Reader(settings)
    engine = EvaluationEngine(settings, _config(url, concurrency, events), f"b-{prefix}-evaluation")
    engine.start()
    try:
        warm = [{**_task(-i, -i), "task_id": f"warm{i}", "session_key": f"warm{i}|"} for i in range(1, 17)]
        _produce(settings, warm)  # the first batch of each partition reads its state back: not timed
        engine.process(reader.read(len(warm)))
        before = engine.status()
        _produce(settings, [_task(i, i % distinct) for i in range(tasks)])
        messages = reader.read(tasks)
        started = time.perf_counter()
        engine.process(messages)
        seconds = time.perf_counter() - started
        status = engine.status()
    finally:
        engine.close()
        reader.close()
    counted = {name: status[name] - before[name] for name in ("calls", "cache_hits", "input_tokens", "output_tokens",
                                                               "cost_usd")}
    return {"seconds": seconds, "per_s": tasks / seconds, **counted}


def run(args: argparse.Namespace) -> dict[str, Any]:
    info = machine_info()
    judge = JudgeProcess(args.delay)
    rows: list[dict[str, Any]] = []
    try:
        with EmbeddedBroker(partitions=PARTITIONS) as broker:
            for concurrency in args.concurrency:
                servers, clients, engines = [], [], []
                for _ in range(args.passes):  # interleaved, best of each: the machine is shared
                    judge.reset()
                    servers.append(asyncio.run(_bare(judge.url, concurrency, args.tasks)))
                    judge.reset()
                    clients.append(asyncio.run(_openai_bare(judge.url, concurrency, args.tasks)))
                    judge.reset()
                    engines.append(_engine_run(broker, judge.url, concurrency, args.tasks, args.tasks))
                server, engine = max(servers), max(engines, key=lambda e: e["per_s"])
                rows.append({"concurrency": concurrency, "server": server, "engine": engine["per_s"],
                             "client": max(clients), "ratio": engine["per_s"] / server, "status": engine,
                             "servers": servers, "clients": clients, "engines": [e["per_s"] for e in engines],
                             "max_in_flight": judge.stats()["max_in_flight"]})
            top = max(args.concurrency)
            judge.reset()
            duplicated = _engine_run(broker, judge.url, top, args.tasks, args.tasks // 4)
            judge.reset()
            with_events = _engine_run(broker, judge.url, top, args.tasks, args.tasks, events=True)
    finally:
        judge.stop()
    alone = next(r for r in rows if r["concurrency"] == top)["status"]
    return {"info": info, "args": vars(args), "rows": rows, "duplicated": duplicated, "with_events": with_events,
            "alone_status": alone}


def _per_thousand(status: dict[str, Any], tasks: int) -> tuple[float, float, float]:
    k = 1000 / tasks
    return status["input_tokens"] * k, status["output_tokens"] * k, status["cost_usd"] * k


def markdown(report: dict[str, Any]) -> str:
    info, args = report["info"], report["args"]
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [START, "## Evaluation (`benchmarks/evaluation.py`)", "",
             f"Run {when} on {info['nproc']} CPUs ({info['cpu'].split()[0] if info['cpu'] else '?'}), load average "
             f"{info['loadavg_at_start'][0]} at start; Python {info['python']}. Command: "
             f"`python benchmarks/evaluation.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`.", "",
             f"The judge server (tests/support/judge_server.py, its own process) answers each request after "
             f"{args['delay'] * 1000:g} ms. `server` is what it answers to a bare httpx client keeping N requests in "
             f"flight; `engine` is the evaluation engine's evaluations/s over {args['tasks']:,} distinct tasks with "
             f"llm.max_concurrency N (records read from the embedded broker, prompts, openai client, parsing, rows "
             f"and state written and acknowledged). The two run {args['passes']} times each, interleaved; the best "
             "of each is kept (every pass is listed). Everything shares the machine's CPUs.", "",
             "`openai client` is the bare load again through the openai client alone (what the engine calls "
             "through), to show what the client itself costs.", "",
             "| N | server req/s (passes) | openai client req/s (passes) | engine evaluations/s (passes) | "
             "engine / server | target |", "|---:|---:|---:|---:|---:|---|"]
    for row in report["rows"]:
        verdict = "PASS" if row["ratio"] >= TARGET_RATIO else "FAIL"
        passes = {name: ", ".join(f"{x:,.0f}" for x in row[name]) for name in ("servers", "clients", "engines")}
        lines.append(f"| {row['concurrency']} | **{row['server']:,.0f}** ({passes['servers']}) | "
                     f"**{row['client']:,.0f}** ({passes['clients']}) | **{row['engine']:,.0f}** "
                     f"({passes['engines']}) | {row['ratio']:.2f} | >= {TARGET_RATIO} **{verdict}** |")
    dup = report["duplicated"]
    expected = 1 - (args["tasks"] // 4) / args["tasks"]
    hit = dup["cache_hits"] / args["tasks"]
    lines += ["", f"Cache: {args['tasks']:,} tasks, each input four times (a duplicate share of {expected:.0%}): "
              f"{dup['calls']:,} calls, {dup['cache_hits']:,} cache hits, a hit ratio of **{hit:.2f}** "
              f"({dup['per_s']:,.0f} evaluations/s).", "",
              "Tokens and cost per 1,000 tasks (the server counts 4 characters a token; priced as gpt-4o-mini by "
              "genai-prices):", "", "| work per task | calls | input tokens | output tokens | USD |",
              "|---|---:|---:|---:|---:|"]
    for label, status in (("evaluation", report["alone_status"]), ("evaluation + 2 LLM events", report["with_events"])):
        tokens_in, tokens_out, usd = _per_thousand(status, args["tasks"])
        lines.append(f"| {label} | {status['calls'] * 1000 / args['tasks']:,.0f} | {tokens_in:,.0f} | "
                     f"{tokens_out:,.0f} | {usd:.4f} |")
    lines.append(END)
    return "\n".join(lines) + "\n"


def print_table(report: dict[str, Any]) -> None:
    table = Table(title="evaluations/s against the judge server")
    for column in ("N", "server req/s", "openai client req/s", "engine evaluations/s", "ratio", "max in flight"):
        table.add_column(column, justify="right")
    for row in report["rows"]:
        table.add_row(str(row["concurrency"]), f"{row['server']:,.0f}", f"{row['client']:,.0f}",
                      f"{row['engine']:,.0f}", f"{row['ratio']:.2f}", str(row["max_in_flight"]))
    Console().print(table)
    dup = report["duplicated"]
    print(f"cache: {dup['calls']} calls, {dup['cache_hits']} hits of {report['args']['tasks']} tasks")
    for label, status in (("evaluation", report["alone_status"]), ("+2 events", report["with_events"])):
        tokens_in, tokens_out, usd = _per_thousand(status, report["args"]["tasks"])
        print(f"per 1,000 tasks ({label}): {tokens_in:,.0f} input, {tokens_out:,.0f} output tokens, ${usd:.4f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.05, help="the server's answer time in seconds")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--passes", type=int, default=3, help="server and engine runs per N, interleaved (best kept)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.passes = 400, 1
    report = run(args)
    print_table(report)
    if not args.quick:
        rewrite_section(BENCHMARKS_MD, START, END, markdown(report))


if __name__ == "__main__":
    main()
