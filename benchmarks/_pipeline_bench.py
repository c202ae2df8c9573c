"""What the parts of benchmarks/pipeline.py share: the run's context (settings, children, the
sink's store), a fresh embedded broker, the SDK child, the sink thread, waiting."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from _harness import REPO
from _procs import Children, descendants

from phospho_schemas import Topics
from phospho_sinks import SinkRunner, connect, migrate
from phospho_stream import EmbeddedBroker

__all__ = ["Bench", "open_bench", "Sink", "fresh_broker", "broker_pid", "wait_for", "read_json", "start_sdk", "sdk_phase", "count",
           "HERE", "BENCH_DIR", "WARMUP", "PARTITIONS"]

HERE = Path(__file__).resolve().parent
BENCH_DIR = REPO / ".bench"
WARMUP = 20
PARTITIONS = 4


@dataclass
class Bench:
    """What every part of one run shares."""

    args: argparse.Namespace
    workdir: Path
    children: Children = field(default_factory=Children)
    store: Any = None  # the harness's chDB store, written by the sink of the live parts
    texts: dict[str, list[str]] = field(default_factory=dict)
    config_path: Path | None = None  # the analytics config (benchmarks/analytics.py's)

    def cli(self) -> str:
        return str(Path(sys.executable).parent / "phospho-stream")

    def env(self, bootstrap: str, prefix: str, app_id: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOSPHO_", "KAFKA_"))}
        data_dir = self.workdir / app_id
        data_dir.mkdir(exist_ok=True)
        env.update(PHOSPHO_KAFKA_BOOTSTRAP_SERVERS=bootstrap, PHOSPHO_TOPIC_PREFIX=prefix, PHOSPHO_APP_ID=app_id,
                   PHOSPHO_DATA_DIR=str(data_dir), PHOSPHO_WORKER_PRODUCER_BATCH_BYTES="1",  # as `up` sets it here
                   PHOSPHO_TOPIC_PARTITIONS=str(PARTITIONS), NO_PROXY="127.0.0.1,localhost", PYTHONUNBUFFERED="1")
        return env

    def spawn(self, name: str, cmd: list[str], env: dict[str, str], nice: int = 0) -> subprocess.Popen[bytes]:
        return self.children.spawn(cmd, env, BENCH_DIR / f"pipeline-{name}.log", nice=nice, cwd=self.workdir)

    def profile(self, proc: subprocess.Popen[bytes], label: str) -> subprocess.Popen[bytes] | None:
        """With --py-spy: py-spy records the stacks of proc's thread holding the GIL (collapsed)
        to .bench/pipeline-<label>.pyspy.txt until proc exits."""
        if not self.args.py_spy:
            return None
        out = BENCH_DIR / f"pipeline-{label}.pyspy.txt"
        return self.spawn(f"{label}-py-spy", [self.args.py_spy, "record", "--pid", str(proc.pid), "--format", "raw",
                                              "--rate", "100", "--gil", "--subprocesses", "-o", str(out)], dict(os.environ))

    def timeout(self) -> float:
        return 120 + self.args.tasks / 400


@contextlib.contextmanager
def open_bench(args: argparse.Namespace, workdir: Path) -> Iterator[Bench]:
    """The run's context: the texts and the analytics config of benchmarks/analytics.py, and the
    chDB store the live parts' sink writes; children and store closed on the way out."""
    from analytics import ANSWERS, CONFIG, CORPUS, MODELS, SYSTEM_PROMPTS

    inputs = [t for name in ("language", "sentiment") for texts in
              yaml.safe_load((CORPUS / f"{name}.yaml").read_text(encoding="utf-8")).values() for t in texts]
    bench = Bench(args, workdir, texts={"inputs": inputs, "answers": ANSWERS, "system_prompts": SYSTEM_PROMPTS,
                                        "models": MODELS}, config_path=workdir / "analytics.yaml")
    bench.config_path.write_text(CONFIG)
    bench.store = connect(f"chdb://{workdir / 'sink-chdb'}")
    try:
        migrate(bench.store)
        yield bench
    finally:
        bench.children.stop_all()
        bench.store.close()


def fresh_broker(prefix: str) -> Any:
    """An embedded broker with every topic of `prefix` created (consumers that subscribe before a
    topic exists would not see it before their next metadata refresh)."""
    return EmbeddedBroker(topic_prefix=prefix, partitions=PARTITIONS, log_path=BENCH_DIR / "pipeline-tansu.log")


def broker_pid(bootstrap: str) -> int | None:
    """The Tansu process of the embedded broker at `bootstrap` (a child of this process)."""
    for pid in descendants(os.getpid()):
        try:
            if bootstrap.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            pass
    return None


def wait_for(what: str, check: Any, timeout: float, every: float = 0.1, procs: tuple[Any, ...] = ()) -> Any:
    """Poll `check()` until it returns something truthy; raise after `timeout` or when a process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        for proc in procs:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{what}: {shlex.join(map(str, proc.args[:3]))} exited with {proc.returncode}")
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def start_sdk(bench: Bench, bootstrap: str, prefix: str, mode: str, python: str | None = None,
              **cfg: Any) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """The SDK child (`python`: another interpreter, e.g. an older checkout's, whose phospho logs)."""
    run = f"r{uuid.uuid4().hex[:6]}"
    cfg = {"mode": mode, "run": run, "spool_dir": str(bench.workdir / f"spool-{run}"),
           "result_path": str(bench.workdir / f"sdk-{run}.json"), **bench.texts, **cfg}
    path = bench.workdir / f"sdk-{run}.config.json"
    path.write_text(json.dumps(cfg))
    env = bench.env(bootstrap, prefix, f"sdk-{run}")
    return bench.spawn("sdk", [python or sys.executable, str(HERE / "_pipeline_sdk.py"), str(path)], env), cfg


def sdk_phase(proc: subprocess.Popen[bytes], cfg: dict[str, Any], phase: str, timeout: float) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        result = read_json(Path(cfg["result_path"]))
        if result and result.get("phase") == "error":
            raise RuntimeError(f"SDK child: {result['error']}")
        return result if result and result.get("phase") == phase else None

    return wait_for(f"SDK child ({phase})", reached, timeout, procs=(proc,) if phase != "done" else ())


class Sink:
    """`with Sink(bench, bootstrap, prefix) as sink:` the sink thread on the harness's store,
    emptied first."""

    def __init__(self, bench: Bench, bootstrap: str, prefix: str) -> None:
        for table in ("tasks", "spans", "feedback", "sessions", "events", "dead_letters"):
            bench.store.command(f"TRUNCATE TABLE phospho_store.{table}")
        self.runner = SinkRunner(bootstrap, bench.store, Topics(prefix), group_id=f"bench-sink-{uuid.uuid4().hex[:6]}")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.runner.run, args=(self.stop,), name="sink", daemon=True)
        self.native_id = 0

    def __enter__(self) -> Sink:
        self.thread.start()
        self.native_id = self.thread.native_id or 0
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


def count(store: Any, sql: str, **params: Any) -> int:
    return int(store.query(sql, params or None).rows[0][0])
